"""Shifts and time off as data: the module lives in `chalicelib.schemas.schedules` (routing,
below the directory, reads schedules at draw time); kept here under its first name."""

from __future__ import annotations

from chalicelib.schemas.schedules import *  # noqa: F403
from chalicelib.schemas.schedules import __all__ as __all__
