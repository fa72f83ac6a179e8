"""Heavy imports stay out of the functions that do not need them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_GIVEN_the_app_WHEN_imported_THEN_numpy_and_the_llm_scorer_are_not_loaded() -> None:
    probe = "import sys, app; print(sorted(m for m in ('numpy', 'chalicelib.scoring.llm') if m in sys.modules))"

    loaded = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)

    assert loaded.stdout.strip() == "[]"
