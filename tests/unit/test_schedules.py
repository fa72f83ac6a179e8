"""Shifts and time off as data: validation with field paths, DST rules, and
next_transition / is_on_shift checked against zoneinfo's own wall clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.directory.schedules import (
    DAY_NAMES,
    WeeklySchedule,
    is_on_shift,
    next_transition,
    shift_status,
)

ZONES = ("Europe/Kyiv", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")

# Around the 2026 DST changes of each zone (UTC), plus an ordinary week.
ANCHORS = {
    "Europe/Kyiv": (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)),
    "America/New_York": (datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)),
    "Australia/Lord_Howe": (datetime(2026, 4, 4, 15, tzinfo=UTC), datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
    "Asia/Kolkata": (datetime(2026, 6, 1, tzinfo=UTC),),
    "UTC": (datetime(2026, 6, 1, tzinfo=UTC),),
}
QUARTER = timedelta(minutes=15)
MICRO = timedelta(microseconds=1)


def schedule(zone: str = "Europe/Kyiv", **week: list[tuple[Any, ...]]) -> WeeklySchedule:
    days: dict[str, list[dict[str, Any]]] = {
        name: [{"start": i[0], "end": i[1], "overnight": len(i) > 2 and i[2]} for i in intervals]
        for name, intervals in week.items()
    }
    return WeeklySchedule.model_validate({"time_zone": zone, "week": days})


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- validation --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "loc", "kind"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, ("time_zone",), "unknown_time_zone"),
        ({"time_zone": "../../etc/passwd"}, ("time_zone",), "unknown_time_zone"),
        ({"time_zone": "europe/kyiv"}, ("time_zone",), "unknown_time_zone"),
        (
            {"time_zone": "UTC", "week": {"mon": [{"start": "9:00", "end": "18:00"}]}},
            ("week", "mon", 0, "start"),
            "time_format",
        ),
        (
            {"time_zone": "UTC", "week": {"mon": [{"start": "09:00", "end": "24:01"}]}},
            ("week", "mon", 0, "end"),
            "time_format",
        ),
        (
            {"time_zone": "UTC", "week": {"mon": [{"start": "24:00", "end": "24:00"}]}},
            ("week", "mon", 0, "start"),
            "time_format",
        ),
        (
            {"time_zone": "UTC", "week": {"tue": [{"start": "18:00", "end": "09:00"}]}},
            ("week", "tue", 0, "end"),
            "ends_before_start",
        ),
        (
            {"time_zone": "UTC", "week": {"wed": [{"start": "09:00", "end": "09:00"}]}},
            ("week", "wed", 0, "end"),
            "empty_interval",
        ),
        (
            {"time_zone": "UTC", "week": {"wed": [{"start": "09:00", "end": "10:00", "overnight": True}]}},
            ("week", "wed", 0, "overnight"),
            "not_overnight",
        ),
        (
            {
                "time_zone": "UTC",
                "week": {"thu": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "18:00"}]},
            },
            ("week", "thu", 1),
            "overlapping_intervals",
        ),
        (
            {
                "time_zone": "UTC",
                "week": {
                    "mon": [{"start": "22:00", "end": "06:00", "overnight": True}],
                    "tue": [{"start": "05:30", "end": "09:00"}],
                },
            },
            ("week", "tue", 0),
            "overlapping_intervals",
        ),
        (
            {
                "time_zone": "UTC",
                "week": {
                    "sun": [{"start": "22:00", "end": "06:00", "overnight": True}],
                    "mon": [{"start": "05:00", "end": "09:00"}],
                },
            },
            ("week", "sun", 0),
            "overlapping_intervals",
        ),
        ({"time_zone": "UTC", "week": {"monday": []}}, ("week", "monday"), "extra_forbidden"),
        (
            {"time_zone": "UTC", "exceptions": [{"kind": "off", "first_day": "2026-05-03", "last_day": "2026-05-01"}]},
            ("exceptions", 0, "last_day"),
            "ends_before_start",
        ),
        (
            {"time_zone": "UTC", "exceptions": [{"kind": "off", "first_day": "2026-05-01", "last_day": "2026-05-32"}]},
            ("exceptions", 0, "last_day"),
            "date_from_datetime_parsing",
        ),
        (
            {
                "time_zone": "UTC",
                "exceptions": [
                    {"kind": "off", "first_day": "2026-05-01", "last_day": "2026-05-10"},
                    {"kind": "off", "first_day": "2026-05-10", "last_day": "2026-05-12"},
                ],
            },
            ("exceptions", 1, "first_day"),
            "overlapping_exceptions",
        ),
        (
            {
                "time_zone": "UTC",
                "exceptions": [
                    {"kind": "off", "first_day": "2026-05-01", "last_day": "2026-05-10"},
                    {"kind": "extra", "day": "2026-05-04", "intervals": [{"start": "10:00", "end": "12:00"}]},
                ],
            },
            ("exceptions", 1, "day"),
            "overlapping_exceptions",
        ),
        (
            {
                "time_zone": "UTC",
                "exceptions": [
                    {"kind": "extra", "day": "2026-05-04", "intervals": [{"start": "10:00", "end": "9:00"}]}
                ],
            },
            ("exceptions", 0, "intervals", 0, "end"),
            "time_format",
        ),
        (
            {
                "time_zone": "UTC",
                "exceptions": [
                    {
                        "kind": "extra",
                        "day": "2026-05-04",
                        "intervals": [{"start": "10:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}],
                    }
                ],
            },
            ("exceptions", 0, "intervals", 1),
            "overlapping_intervals",
        ),
        (
            {"time_zone": "UTC", "exceptions": [{"kind": "extra", "day": "2026-05-04", "intervals": []}]},
            ("exceptions", 0, "intervals"),
            "too_short",
        ),
    ],
)
def test_GIVEN_an_invalid_schedule_WHEN_validated_THEN_the_error_names_the_field(
    data: dict[str, Any], loc: tuple[str | int, ...], kind: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        WeeklySchedule.model_validate(data)
    assert (loc, kind) in [(tuple(e["loc"]), e["type"]) for e in raised.value.errors()]


def test_GIVEN_a_schedule_inside_an_api_model_WHEN_invalid_THEN_the_path_starts_at_the_outer_field() -> None:
    from pydantic import BaseModel

    class OperatorPatch(BaseModel):
        schedule: WeeklySchedule

    with pytest.raises(ValidationError) as raised:
        OperatorPatch.model_validate(
            {
                "schedule": {
                    "time_zone": "UTC",
                    "exceptions": [
                        {"kind": "extra", "day": "2026-05-04", "intervals": [{"start": "10:00", "end": "11:00"}]},
                        {"kind": "extra", "day": "2026-05-04", "intervals": [{"start": "12:00", "end": "13:00"}]},
                    ],
                }
            }
        )
    assert [tuple(e["loc"]) for e in raised.value.errors()] == [("schedule", "exceptions", 1, "day")]


def test_GIVEN_touching_and_overnight_intervals_WHEN_validated_THEN_they_are_accepted() -> None:
    valid = schedule(
        mon=[("09:00", "13:00"), ("13:00", "18:00"), ("22:00", "24:00")],
        tue=[("00:00", "06:00"), ("22:00", "06:00", True)],
        wed=[("06:00", "10:00")],
        sun=[("20:00", "00:00", True)],
    )
    assert valid.week.tue[1].end_minute == 24 * 60 + 6 * 60


# --- examples: overnight, touching, exceptions, DST ---------------------------------------------------------------


def test_GIVEN_an_overnight_friday_shift_WHEN_asked_on_saturday_morning_THEN_on_until_six() -> None:
    night = schedule("UTC", fri=[("22:00", "06:00", True)])
    assert is_on_shift(night, utc(2026, 6, 6, 3))  # Saturday 03:00
    assert not is_on_shift(night, utc(2026, 6, 6, 6))
    assert next_transition(night, utc(2026, 6, 6, 3)) == (utc(2026, 6, 6, 6), False)


def test_GIVEN_touching_intervals_across_midnight_WHEN_on_THEN_the_only_transition_is_the_real_end() -> None:
    joined = schedule("UTC", mon=[("22:00", "24:00")], tue=[("00:00", "06:00")])
    assert next_transition(joined, utc(2026, 6, 1, 23)) == (utc(2026, 6, 2, 6), False)


def test_GIVEN_a_day_off_WHEN_the_previous_night_shift_spills_into_it_THEN_that_shift_is_still_worked() -> None:
    data = {
        "time_zone": "UTC",
        "week": {name: [{"start": "22:00", "end": "06:00", "overnight": True}] for name in DAY_NAMES},
        "exceptions": [{"kind": "off", "first_day": "2026-06-02", "last_day": "2026-06-03", "reason": "holiday"}],
    }
    nights = WeeklySchedule.model_validate(data)
    assert is_on_shift(nights, utc(2026, 6, 2, 5))  # Monday's night, into Tuesday
    assert not is_on_shift(nights, utc(2026, 6, 2, 23))  # Tuesday's night is off
    assert next_transition(nights, utc(2026, 6, 2, 5)) == (utc(2026, 6, 2, 6), False)
    assert next_transition(nights, utc(2026, 6, 2, 6)) == (utc(2026, 6, 4, 22), True)
    status = shift_status(nights, utc(2026, 6, 2, 12))
    assert status.text == "off shift (holiday) until Thu 22:00 UTC"
    assert status.reason == "holiday"


def test_GIVEN_extra_hours_on_a_sunday_WHEN_asked_THEN_they_add_to_the_week() -> None:
    data = {
        "time_zone": "Asia/Kolkata",
        "week": {"mon": [{"start": "09:00", "end": "18:00"}]},
        "exceptions": [{"kind": "extra", "day": "2026-06-07", "intervals": [{"start": "10:00", "end": "14:00"}]}],
    }
    extra = WeeklySchedule.model_validate(data)
    assert is_on_shift(extra, utc(2026, 6, 7, 5))  # 10:30 IST
    assert not is_on_shift(extra, utc(2026, 6, 14, 5))  # the next Sunday is an ordinary one
    assert next_transition(extra, utc(2026, 6, 7, 5)) == (utc(2026, 6, 7, 8, 30), False)


def test_GIVEN_a_shift_starting_in_the_spring_forward_gap_WHEN_the_night_comes_THEN_it_starts_at_the_jump() -> None:
    # Kyiv, 2026-03-29: 03:00 EET jumps to 04:00 EEST at 01:00 UTC; 03:30 never happens.
    gap = schedule("Europe/Kyiv", sun=[("03:30", "05:00")])
    assert next_transition(gap, utc(2026, 3, 29, 0)) == (utc(2026, 3, 29, 1), True)
    assert not is_on_shift(gap, utc(2026, 3, 29, 1) - MICRO)
    assert next_transition(gap, utc(2026, 3, 29, 1)) == (utc(2026, 3, 29, 2), False)  # 05:00 EEST
    assert shift_status(gap, utc(2026, 3, 29, 0)).text == "off shift until 04:00 Europe/Kyiv"


def test_GIVEN_a_shift_wholly_inside_the_gap_WHEN_the_night_comes_THEN_it_is_empty() -> None:
    lost = schedule("Europe/Kyiv", sun=[("03:00", "03:45")])
    transition = next_transition(lost, utc(2026, 3, 28))
    assert transition is not None and transition.at == utc(2026, 4, 5, 0)  # next Sunday 03:00 EEST


def test_GIVEN_lord_howe_half_hour_jump_WHEN_a_shift_starts_at_02_15_THEN_it_starts_at_02_30_daylight() -> None:
    # 2026-10-04 02:00 LHST (+10:30) jumps to 02:30 LHDT (+11) at 15:30 UTC the day before.
    half = schedule("Australia/Lord_Howe", sun=[("02:15", "04:00")])
    assert next_transition(half, utc(2026, 10, 3, 12)) == (utc(2026, 10, 3, 15, 30), True)
    assert next_transition(half, utc(2026, 10, 3, 15, 30)) == (utc(2026, 10, 3, 17), False)


def test_GIVEN_the_fall_back_night_WHEN_a_wall_time_repeats_THEN_its_first_occurrence_counts() -> None:
    # New York, 2026-11-01: 02:00 EDT goes back to 01:00 EST at 06:00 UTC; 01:30 happens twice.
    early = schedule("America/New_York", sun=[("00:00", "01:30")])
    assert next_transition(early, utc(2026, 11, 1, 4, 30)) == (utc(2026, 11, 1, 5, 30), False)  # 01:30 EDT
    late = schedule("America/New_York", sun=[("01:30", "03:00")])
    assert next_transition(late, utc(2026, 11, 1, 4)) == (utc(2026, 11, 1, 5, 30), True)
    assert next_transition(late, utc(2026, 11, 1, 5, 30)) == (utc(2026, 11, 1, 8), False)  # 3h30 of real time
    assert is_on_shift(late, utc(2026, 11, 1, 6, 15))  # 01:15 EST, the second pass


def test_GIVEN_statuses_WHEN_rendered_THEN_they_say_until_when_in_the_operators_zone() -> None:
    office = schedule("Europe/Kyiv", mon=[("09:00", "18:00")], fri=[("09:00", "18:00")])
    assert shift_status(office, utc(2026, 6, 1, 5)).text == "off shift until 09:00 Europe/Kyiv"  # Mon 08:00 EEST
    assert shift_status(office, utc(2026, 6, 1, 7)).text == "on shift until 18:00 Europe/Kyiv"
    assert shift_status(office, utc(2026, 6, 1, 16)).text == "off shift until Fri 09:00 Europe/Kyiv"
    nobody = schedule("UTC")
    assert shift_status(nobody, utc(2026, 6, 1)).text == "off shift, no change in the next 14 days"
    assert next_transition(nobody, utc(2026, 6, 1)) is None


def test_GIVEN_a_24_7_schedule_WHEN_asked_THEN_always_on_with_no_transition() -> None:
    always = schedule("America/New_York", **{name: [("00:00", "24:00")] for name in DAY_NAMES})
    assert is_on_shift(always, utc(2026, 3, 8, 7))
    assert next_transition(always, utc(2026, 3, 8, 6)) is None


def test_GIVEN_a_naive_datetime_WHEN_asked_THEN_it_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_on_shift(schedule("UTC"), datetime(2026, 6, 1))


# --- properties against zoneinfo ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """The generated schedule as plain minutes, for an oracle that shares no code with the module."""

    zone: str
    week: dict[int, list[tuple[int, int]]]  # weekday -> (start, end) minutes from that day's midnight
    off: frozenset[date]
    extra: dict[date, list[tuple[int, int]]]

    def intervals_on(self, day: date) -> list[tuple[int, int]]:
        if day in self.off:
            return []
        return self.week.get(day.weekday(), []) + self.extra.get(day, [])

    def oracle(self, at: datetime) -> bool | None:
        """Reads zoneinfo's wall clock; None on the second pass of a repeated hour (fold=1),
        where wall-clock order and time order disagree."""
        local = at.astimezone(ZoneInfo(self.zone))
        if local.fold:
            return None
        wall = local.replace(tzinfo=None)
        for day in (wall.date() - timedelta(days=1), wall.date()):
            midnight = datetime(day.year, day.month, day.day)
            for start, end in self.intervals_on(day):
                if midnight + timedelta(minutes=start) <= wall < midnight + timedelta(minutes=end):
                    return True
        return False


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _interval_json(start: int, end: int) -> dict[str, Any]:
    """`end` past 1440 is an overnight interval."""
    if end > 1440:
        return {"start": _hhmm(start), "end": _hhmm(end - 1440), "overnight": True}
    return {"start": _hhmm(start), "end": "24:00" if end == 1440 else _hhmm(end)}


@st.composite
def schedules(draw: st.DrawFn, zone: str, anchor: datetime) -> tuple[WeeklySchedule, Raw]:
    """Non-overlapping working time on a 15-minute grid over the week (the last stretch
    may wrap from Sunday into Monday), written as same-day pieces or as overnight
    intervals, plus a day off and extra hours near the anchor. Half of the cuts fall
    within two hours of the anchor's wall time, where the DST change is."""
    slots = 7 * 96
    local = anchor.astimezone(ZoneInfo(zone))
    hot = local.weekday() * 96 + local.hour * 4 + local.minute // 15
    count = draw(st.integers(0, 5)) * 2
    cut = st.one_of(st.integers(0, slots - 1), st.integers(hot - 8, hot + 8).map(lambda slot: slot % slots))
    cuts = sorted(draw(st.sets(cut, min_size=count, max_size=count)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=True))
    if draw(st.booleans()) and pairs:
        pairs = [*zip(cuts[1:-1:2], cuts[2::2], strict=True), (cuts[-1], cuts[0] + slots)]
    week: dict[int, list[tuple[int, int]]] = {}
    for first, second in pairs:
        start, end = first * 15, second * 15
        while start < end:
            day, offset = divmod(start, 1440)
            day_end = (day + 1) * 1440
            if end <= day_end:
                piece_end = end
            elif end - start < 1440 and draw(st.booleans()):
                piece_end = end  # overnight
            else:
                piece_end = day_end
            week.setdefault(day % 7, []).append((offset, offset + piece_end - start))
            start = piece_end
    local_day = anchor.astimezone(ZoneInfo(zone)).date()
    off: set[date] = set()
    extra: dict[date, list[tuple[int, int]]] = {}
    exceptions: list[dict[str, Any]] = []
    if draw(st.booleans()):
        first_off = local_day + timedelta(days=draw(st.integers(-2, 2)))
        length = draw(st.integers(1, 3))
        off = {first_off + timedelta(days=n) for n in range(length)}
        exceptions.append({"kind": "off", "first_day": first_off.isoformat(), "last_day": max(off).isoformat()})
    if draw(st.booleans()):
        extra_day = local_day + timedelta(days=draw(st.integers(-2, 2)))
        assume(extra_day not in off)
        start = draw(st.integers(0, 95)) * 15
        end = start + draw(st.integers(1, 95)) * 15
        extra[extra_day] = [(start, end)]
        exceptions.append({"kind": "extra", "day": extra_day.isoformat(), "intervals": [_interval_json(start, end)]})
    data = {
        "time_zone": zone,
        "week": {DAY_NAMES[day]: [_interval_json(s, e) for s, e in sorted(pieces)] for day, pieces in week.items()},
        "exceptions": exceptions,
    }
    return WeeklySchedule.model_validate(data), Raw(zone, week, frozenset(off), extra)


@st.composite
def cases(draw: st.DrawFn, zone: str) -> tuple[WeeklySchedule, Raw, datetime]:
    anchor = draw(st.sampled_from(ANCHORS[zone]))
    at = anchor + QUARTER * draw(st.integers(-4 * 24, 4 * 24)) + MICRO * draw(st.sampled_from([0, 1, -1, 333_333]))
    built, raw = draw(schedules(zone, anchor))
    return built, raw, at


PROPERTY = settings(max_examples=40, deadline=None)


@pytest.mark.parametrize("zone", ZONES)
@PROPERTY
@given(data=st.data())
def test_GIVEN_random_schedules_WHEN_asked_on_shift_THEN_zoneinfo_wall_clock_agrees(
    zone: str, data: st.DataObject
) -> None:
    built, raw, at = data.draw(cases(zone))
    grid = at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)
    moments = [at] + [grid + QUARTER * n + nudge for n in range(-12, 13) for nudge in (-MICRO, timedelta(0))]
    for moment in moments:
        expected = raw.oracle(moment)
        if expected is not None:
            assert is_on_shift(built, moment) is expected, moment


@pytest.mark.parametrize("zone", ZONES)
@PROPERTY
@given(data=st.data())
def test_GIVEN_random_schedules_WHEN_asked_the_next_transition_THEN_the_state_flips_there_and_nowhere_before(
    zone: str, data: st.DataObject
) -> None:
    built, _, at = data.draw(cases(zone))
    horizon = timedelta(hours=30)
    transition = next_transition(built, at, horizon)
    before = is_on_shift(built, at)  # spans are half-open: the state at `at` holds until the transition
    end = at + horizon if transition is None else transition.at
    if transition is not None:
        assert at < transition.at <= at + horizon
        assert is_on_shift(built, transition.at) is transition.becomes_on
        assert is_on_shift(built, transition.at - MICRO) is not transition.becomes_on
        assert before is not transition.becomes_on
    # Every wall time in these schedules and every DST change of these zones is on the
    # 15-minute UTC grid, so the state can only change there: check each grid point.
    point = at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0) + QUARTER
    while point < end:
        assert is_on_shift(built, point) is before, point
        point += QUARTER
