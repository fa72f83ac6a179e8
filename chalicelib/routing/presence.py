"""Presence as data: what an operator's stored presence and schedule mean at an instant.

Rules, decided here once (pure: no database):

* ``is_active`` is "employed / may work at all" (an admin's switch, which ends access).
  Presence is the working state within that: ``available``, ``paused`` (by itself or an
  admin, with an optional reason) or ``off_shift`` (its schedule says so).
* A pause is sticky: shift changes never end it, only a resume does. A resume (or a
  schedule written) lands on what the schedule says now: ``available`` on shift,
  ``off_shift`` off it.
* Without a schedule an operator is always on shift (no ``next_transition_at``).
* ``next_transition_at`` is the next instant the schedule changes state, or, when it
  does not change within the horizon (a long leave), the horizon's end: the job then
  just looks again, so nobody is ever lost from the index.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from chalicelib.core.ids import iso
from chalicelib.schemas.schedules import DEFAULT_HORIZON, WeeklySchedule, is_on_shift, shift_status

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "AVAILABLE",
    "OFF_SHIFT",
    "PAUSED",
    "PresenceName",
    "ShiftState",
    "describe",
    "on_shift_now",
    "parse_schedule",
    "settle",
    "shift_state",
]

PresenceName = Literal["available", "paused", "off_shift"]
AVAILABLE: PresenceName = "available"
PAUSED: PresenceName = "paused"
OFF_SHIFT: PresenceName = "off_shift"


@functools.lru_cache(maxsize=1024)
def parse_schedule(stored: str) -> WeeklySchedule:
    """The stored JSON (validated when it was written) as a schedule; cached by its text,
    so a draw re-reading the same rows parses each schedule once."""
    return WeeklySchedule.model_validate_json(stored)


@dataclass(frozen=True)
class ShiftState:
    """What the schedule says at an instant, and what the operator row should carry."""

    on_shift: bool
    next_transition_at: str  # ISO UTC: the next change, or the horizon's end (look again then)
    until: str | None  # ISO UTC of the next change (None beyond the horizon)
    text: str  # "off shift until 09:00 Europe/Kyiv"


def shift_state(schedule: WeeklySchedule, now: datetime) -> ShiftState:
    status = shift_status(schedule, now)
    due = status.until if status.until is not None else now + DEFAULT_HORIZON
    return ShiftState(status.on_shift, iso(due), iso(status.until) if status.until else None, status.text)


def on_shift_now(stored_schedule: str | None, now: datetime) -> bool:
    return stored_schedule is None or is_on_shift(parse_schedule(stored_schedule), now)


def settle(stored: str | None, stored_schedule: str | None, now: datetime) -> PresenceName:
    """The presence an operator has now: a pause holds; otherwise the schedule decides."""
    if stored == PAUSED:
        return PAUSED
    return AVAILABLE if on_shift_now(stored_schedule, now) else OFF_SHIFT


def describe(
    name: str, presence: str | None, reason: str | None, stored_schedule: str | None, now: datetime
) -> str | None:
    """Why an operator cannot be drawn for its presence or hours ("Anna: paused (lunch)",
    "Anna: off shift until 09:00 Europe/Kyiv"), None when both allow it. The schedule is
    read at the instant asked (exact even while the shift job lags)."""
    if presence == PAUSED:
        return f"{name}: paused ({reason})" if reason else f"{name}: paused"
    if stored_schedule is not None:
        schedule = parse_schedule(stored_schedule)
        if not is_on_shift(schedule, now):
            return f"{name}: {shift_status(schedule, now).text}"
    if presence == OFF_SHIFT:
        # The schedule says on shift but the job has not moved the row yet: the claim still refuses.
        return f"{name}: off shift"
    return None
