"""Benchmarks call the API as an admin, with a throwaway dev key pair."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from scripts.local.dev_auth import DevKeys


def admin_headers() -> dict[str, str]:
    """Makes the app trust a fresh key pair (for this process) and returns an admin's headers."""
    keys = DevKeys.load_or_create(Path(tempfile.mkdtemp(prefix="leadcrm-bench-auth-")))
    os.environ.update(keys.environment())
    return {"Content-Type": "application/json", "Authorization": f"Bearer {keys.token('admin')}"}
