"""Heavy imports stay out of the functions that do not need them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts.packaging.lazy_imports import MUST_STAY_LAZY

REPO = Path(__file__).resolve().parents[2]


def test_GIVEN_the_app_WHEN_imported_THEN_numpy_and_the_llm_scorer_are_not_loaded() -> None:
    probe = "import sys, app; print(sorted(m for m in ('numpy', 'chalicelib.scoring.llm') if m in sys.modules))"

    loaded = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)

    assert loaded.stdout.strip() == "[]"


# What only some functions use: the trainer (daily), Bedrock (llm scorer), the
# SQS client (Telegram webhook), token verification (the authorizer), contact
# checks (a request carrying a phone or e-mail) and Powertools' batch
# utilities (the SQS function).
LAZY = MUST_STAY_LAZY


def test_GIVEN_the_app_WHEN_imported_THEN_nothing_only_some_functions_need_is_loaded() -> None:
    probe = f"import sys, app; print(sorted(m for m in {LAZY!r} if m in sys.modules))"

    loaded = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)

    assert loaded.stdout.strip() == "[]"
