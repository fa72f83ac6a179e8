"""Presence rules as data (no database): what a stored presence and schedule mean at an
instant, what the draw makes of a candidate, and a property test of the shift job's
transition times against `zoneinfo`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.ids import iso
from chalicelib.models.sources import Strategy
from chalicelib.routing.draw import Candidate, draw_weight
from chalicelib.routing.presence import describe, settle, shift_state
from chalicelib.schemas.schedules import DAY_NAMES, WeeklySchedule, is_on_shift

# Monday 2026-12-07: Kyiv is UTC+2 (no DST in December).
MONDAY_0800_KYIV = datetime(2026, 12, 7, 6, tzinfo=UTC)
MONDAY_1000_KYIV = datetime(2026, 12, 7, 8, tzinfo=UTC)
NINE_TO_SIX = WeeklySchedule.model_validate(
    {"time_zone": "Europe/Kyiv", "week": {day: [{"start": "09:00", "end": "18:00"}] for day in DAY_NAMES[:5]}}
).model_dump_json()


@pytest.mark.parametrize(
    ("stored", "schedule", "at", "expected"),
    [
        (None, None, MONDAY_0800_KYIV, "available"),  # no schedule: always on shift
        ("available", NINE_TO_SIX, MONDAY_0800_KYIV, "off_shift"),
        ("off_shift", NINE_TO_SIX, MONDAY_1000_KYIV, "available"),
        ("paused", NINE_TO_SIX, MONDAY_1000_KYIV, "paused"),  # a pause holds through shift changes
        ("paused", None, MONDAY_1000_KYIV, "paused"),
    ],
)
def test_GIVEN_a_stored_presence_and_hours_WHEN_settled_THEN_a_pause_holds_and_otherwise_the_hours_decide(
    stored: str | None, schedule: str | None, at: datetime, expected: str
) -> None:
    assert settle(stored, schedule, at) == expected


@pytest.mark.parametrize(
    ("presence", "reason", "schedule", "at", "expected"),
    [
        ("available", None, None, MONDAY_0800_KYIV, None),
        ("available", None, NINE_TO_SIX, MONDAY_1000_KYIV, None),
        ("available", None, NINE_TO_SIX, MONDAY_0800_KYIV, "Anna: off shift until 09:00 Europe/Kyiv"),
        ("paused", "lunch", NINE_TO_SIX, MONDAY_1000_KYIV, "Anna: paused (lunch)"),
        ("paused", None, None, MONDAY_1000_KYIV, "Anna: paused"),
        # The job has not marked the shift start yet: the claim would refuse, so the draw says so.
        ("off_shift", None, NINE_TO_SIX, MONDAY_1000_KYIV, "Anna: off shift"),
    ],
)
def test_GIVEN_presence_and_hours_WHEN_described_for_the_decision_record_THEN_the_reason_is_named(
    presence: str, reason: str | None, schedule: str | None, at: datetime, expected: str | None
) -> None:
    assert describe("Anna", presence, reason, schedule, at) == expected


def test_GIVEN_candidates_WHEN_weighed_THEN_only_the_available_and_on_shift_get_a_share() -> None:
    base = Candidate("op_a", "Anna", weight=10, is_active=True, active_load=0, max_load=5)
    paused = Candidate("op_b", "Boris", 10, True, 0, 5, presence="paused", unavailable_because="Boris: paused")
    off_by_hours = Candidate("op_c", "Vera", 10, True, 0, 5, unavailable_because="Vera: off shift until 09:00 UTC")

    weights = [draw_weight(c, Strategy.WEIGHTED) for c in (base, paused, off_by_hours)]

    assert weights == [10, 0, 0]


def test_GIVEN_no_change_within_the_horizon_WHEN_the_state_is_read_THEN_the_job_looks_again_at_the_horizon() -> None:
    leave = WeeklySchedule.model_validate(
        {
            "time_zone": "Europe/Kyiv",
            "week": {"mon": [{"start": "09:00", "end": "18:00"}]},
            "exceptions": [{"kind": "off", "first_day": "2026-12-01", "last_day": "2027-01-31", "reason": "leave"}],
        }
    )

    state = shift_state(leave, MONDAY_1000_KYIV)

    assert (state.on_shift, state.until) == (False, None)
    assert state.next_transition_at == iso(MONDAY_1000_KYIV + timedelta(days=14))


ZONES = ("Europe/Kyiv", "America/New_York", "Australia/Lord_Howe", "UTC")


@st.composite
def schedules(draw: st.DrawFn) -> WeeklySchedule:
    week: dict[str, list[dict[str, str]]] = {}
    for day in DAY_NAMES:
        if draw(st.booleans()):
            start = draw(st.integers(min_value=0, max_value=22 * 60))
            end = draw(st.integers(min_value=start + 1, max_value=24 * 60))
            week[day] = [{"start": f"{start // 60:02d}:{start % 60:02d}", "end": f"{end // 60:02d}:{end % 60:02d}"}]
    return WeeklySchedule.model_validate({"time_zone": draw(st.sampled_from(ZONES)), "week": week})


@settings(max_examples=60, deadline=None)
@given(
    schedule=schedules(),
    # Around the 2026 DST changes of these zones, and ordinary days.
    at=st.datetimes(min_value=datetime(2026, 3, 1), max_value=datetime(2026, 11, 15), timezones=st.just(UTC)),
)
def test_GIVEN_any_schedule_and_instant_WHEN_the_job_computes_the_next_transition_THEN_state_holds_until_it_then_flips(
    schedule: WeeklySchedule, at: datetime
) -> None:
    state = shift_state(schedule, at)
    due = datetime.fromisoformat(state.next_transition_at)

    assert due > at
    assert state.on_shift == is_on_shift(schedule, at)
    # Constant up to the transition (checked hourly and just before it), flipped at it: a job run
    # at `due` or any minute after sees the change, none before it does.
    probe = at
    while probe < due:
        assert is_on_shift(schedule, probe) == state.on_shift
        probe += timedelta(hours=1)
    assert is_on_shift(schedule, due - timedelta(microseconds=1)) == state.on_shift
    if state.until is not None:
        assert is_on_shift(schedule, due) != state.on_shift
