"""Shifts and time off as data: an operator's weekly hours in its IANA time zone,
dated exceptions, and the pure answers routing needs (on shift now? when does
that change? what do we tell a person?).

Shape (pydantic v2, frozen, ``extra="forbid"``)::

    {"time_zone": "Europe/Kyiv",
     "week": {"mon": [{"start": "09:00", "end": "13:00"}, {"start": "14:00", "end": "18:00"}],
              "fri": [{"start": "22:00", "end": "06:00", "overnight": true}]},
     "exceptions": [{"kind": "off", "first_day": "2026-12-24", "last_day": "2026-12-26", "reason": "holiday"},
                    {"kind": "extra", "day": "2026-12-27", "intervals": [{"start": "10:00", "end": "14:00"}]}]}

Rules, decided here once:

* Times are ``HH:MM`` (00:00..23:59); ``24:00`` is allowed as an end (midnight
  after the day). An interval that ends where it starts is invalid.
* An end before the start is an error unless the interval says
  ``"overnight": true``; then it ends on the next day. Overnight is explicit so
  the commonest typo (18:00–09:00 for 09:00–18:00) is a 422 naming ``end``
  instead of silently becoming a 15-hour night shift.
* An interval belongs to the day it starts on: a Friday night shift is Friday's,
  a day off cancels the intervals that start on it, extra hours are anchored to
  their day. Intervals may touch (13:00–14:00 then 14:00–18:00 is one stretch on
  shift, with no transition at 14:00) but not overlap, in the weekly list
  (overnight spill into the next day included, Sunday wraps to Monday) and
  within one exception. Extra hours add to the week's hours of that day.
* Exceptions may not overlap each other (two leaves on a common day, or extra
  hours on a day of leave): that is a 422 naming the later exception.
* DST: wall times are turned into instants in the operator's zone. A wall time
  that does not exist (spring-forward gap) means the first instant that exists
  after it, i.e. the transition itself: a shift starting at 03:30 on the night
  Kyiv jumps 03:00→04:00 starts at 04:00 local. An interval that falls wholly
  in a gap is empty. A wall time that happens twice (fall-back) means its first
  occurrence (``fold=0``): a shift ending at 01:30 on the night New York goes
  back 02:00→01:00 ends at the first 01:30 (EDT).

Validation errors carry field paths (``week.tue.1.end``,
``exceptions.2.first_day``, ``time_zone``) so the API can answer 422 naming
the field. All instants in and out are timezone-aware; results are UTC.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, NamedTuple, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "DAY_NAMES",
    "DEFAULT_HORIZON",
    "ExtraHours",
    "Interval",
    "ScheduleException",
    "ShiftStatus",
    "TimeOff",
    "Transition",
    "Week",
    "WeeklySchedule",
    "is_on_shift",
    "next_transition",
    "shift_spans",
    "shift_status",
    "to_instant",
]

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HORIZON = timedelta(days=14)
MAX_INTERVALS_PER_DAY = 8
MAX_EXCEPTIONS = 200
MAX_TIME_OFF_DAYS = 366

_MINUTES_PER_DAY = 24 * 60
_START_PATTERN = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
_END_PATTERN = re.compile(r"^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$")
_ZONE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}$")


def _minutes(hh_mm: str) -> int:
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Interval(_Data):
    """One stretch of working time on a day, in the operator's wall-clock time."""

    start: str = Field(description="HH:MM, 00:00..23:59", examples=["09:00"])
    end: str = Field(description="HH:MM, 00:00..23:59 or 24:00", examples=["18:00"])
    overnight: bool = Field(
        default=False, description="Ends on the next day (end at or before start, e.g. 22:00–06:00)"
    )

    @field_validator("start")
    @classmethod
    def _start_format(cls, value: str) -> str:
        if not _START_PATTERN.match(value):
            raise PydanticCustomError("time_format", "expected HH:MM between 00:00 and 23:59")
        return value

    @field_validator("end")
    @classmethod
    def _end_format(cls, value: str) -> str:
        if not _END_PATTERN.match(value):
            raise PydanticCustomError("time_format", "expected HH:MM between 00:00 and 24:00")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _order(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        interval = handler(data)
        start, end = _minutes(interval.start), _minutes(interval.end)
        problem: tuple[str, str, str] | None = None
        if end == start:
            problem = ("end", "empty_interval", "an interval cannot end where it starts")
        elif interval.overnight and end == _MINUTES_PER_DAY:
            problem = ("end", "overnight_end", "an overnight interval ends on the next day: 24:00 is not allowed")
        elif interval.overnight and end > start:
            problem = ("overnight", "not_overnight", "ends after it starts on the same day: not an overnight interval")
        elif not interval.overnight and end < start:
            problem = (
                "end",
                "ends_before_start",
                "ends before it starts; set overnight to true for an interval that ends on the next day",
            )
        if problem is not None:
            field, kind, message = problem
            raise _errors(cls.__name__, [(kind, message, (field,), getattr(interval, field))])
        return interval

    @property
    def start_minute(self) -> int:
        """Minutes after the start of its day."""
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        """Minutes after the start of its day (past 1440 for overnight intervals)."""
        return _minutes(self.end) + (_MINUTES_PER_DAY if self.overnight else 0)


DayIntervals = Annotated[tuple[Interval, ...], Field(max_length=MAX_INTERVALS_PER_DAY)]


class Week(_Data):
    """The regular week; a missing day is a day off."""

    mon: DayIntervals = ()
    tue: DayIntervals = ()
    wed: DayIntervals = ()
    thu: DayIntervals = ()
    fri: DayIntervals = ()
    sat: DayIntervals = ()
    sun: DayIntervals = ()

    def on(self, weekday: int) -> tuple[Interval, ...]:
        """The intervals of a weekday (0 = Monday, as `date.weekday()`)."""
        intervals: tuple[Interval, ...] = getattr(self, DAY_NAMES[weekday])
        return intervals

    @model_validator(mode="wrap")
    @classmethod
    def _no_overlap(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        week = handler(data)
        # Minutes of the week, Monday 00:00 = 0; Sunday's overnight spill wraps to Monday.
        week_minutes = 7 * _MINUTES_PER_DAY
        spans: list[tuple[int, int, str, int]] = []
        for weekday, name in enumerate(DAY_NAMES):
            for index, interval in enumerate(week.on(weekday)):
                offset = weekday * _MINUTES_PER_DAY
                spans.append((offset + interval.start_minute, offset + interval.end_minute, name, index))
        problems: list[tuple[str, str, tuple[str | int, ...], Any]] = []
        for later, (start, end, name, index) in enumerate(spans):
            for other_start, other_end, other_name, other_index in spans[:later]:
                if _cyclic_overlap(start, end, other_start, other_end, week_minutes):
                    problems.append(
                        (
                            "overlapping_intervals",
                            f"overlaps {other_name}.{other_index}",
                            (name, index),
                            week.on(DAY_NAMES.index(name))[index].model_dump(),
                        )
                    )
                    break
        if problems:
            raise _errors(cls.__name__, problems)
        return week


def _cyclic_overlap(start: int, end: int, other_start: int, other_end: int, period: int) -> bool:
    return any(start < other_end + shift and other_start + shift < end for shift in (-period, 0, period))


class TimeOff(_Data):
    """Days off: a holiday, leave or sick days (both days included)."""

    kind: Literal["off"] = "off"
    first_day: date
    last_day: date
    # A category, never free text: what people write about their leave is personal.
    reason: Literal["holiday", "leave", "sick", "other"] = "leave"

    @model_validator(mode="wrap")
    @classmethod
    def _range(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        off = handler(data)
        if off.last_day < off.first_day:
            raise _errors(
                cls.__name__, [("ends_before_start", "last_day is before first_day", ("last_day",), off.last_day)]
            )
        if (off.last_day - off.first_day).days >= MAX_TIME_OFF_DAYS:
            raise _errors(
                cls.__name__,
                [("too_long", f"at most {MAX_TIME_OFF_DAYS} days per exception", ("last_day",), off.last_day)],
            )
        return off

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


class ExtraHours(_Data):
    """Working hours on one date on top of the week's (a swapped shift, a busy day)."""

    kind: Literal["extra"] = "extra"
    day: date
    intervals: DayIntervals

    @model_validator(mode="wrap")
    @classmethod
    def _no_overlap(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        extra = handler(data)
        problems: list[tuple[str, str, tuple[str | int, ...], Any]] = []
        # Checked here, not as min_length, so a bad interval is not reported twice.
        if not extra.intervals:
            problems.append(("too_short", "at least one interval", ("intervals",), []))
        for later, interval in enumerate(extra.intervals):
            for index, other in enumerate(extra.intervals[:later]):
                if interval.start_minute < other.end_minute and other.start_minute < interval.end_minute:
                    problems.append(
                        (
                            "overlapping_intervals",
                            f"overlaps intervals.{index}",
                            ("intervals", later),
                            interval.model_dump(),
                        )
                    )
                    break
        if problems:
            raise _errors(cls.__name__, problems)
        return extra

    def covers(self, day: date) -> bool:
        return self.day == day


ScheduleException = Annotated[TimeOff | ExtraHours, Field(discriminator="kind")]


class WeeklySchedule(_Data):
    """An operator's hours: the regular week in its time zone, and dated exceptions."""

    time_zone: str = Field(description="IANA time zone, e.g. Europe/Kyiv", examples=["Europe/Kyiv"])
    week: Week = Week()
    exceptions: Annotated[tuple[ScheduleException, ...], Field(max_length=MAX_EXCEPTIONS)] = ()

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not _ZONE_PATTERN.match(value) or _zone_or_none(value) is None:
            raise PydanticCustomError("unknown_time_zone", "unknown IANA time zone {zone}", {"zone": value[:64]})
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _exceptions_apart(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            schedule = handler(data)
        except ValidationError as invalid:
            raise _without_union_tags(cls.__name__, invalid) from None
        problems: list[tuple[str, str, tuple[str | int, ...], Any]] = []
        for later, exception in enumerate(schedule.exceptions):
            first, last = _days_of(exception)
            for index, other in enumerate(schedule.exceptions[:later]):
                other_first, other_last = _days_of(other)
                if first <= other_last and other_first <= last:
                    field = "first_day" if isinstance(exception, TimeOff) else "day"
                    problems.append(
                        ("overlapping_exceptions", f"overlaps exceptions.{index}", ("exceptions", later, field), first)
                    )
                    break
        if problems:
            raise _errors(cls.__name__, problems)
        return schedule

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """What starts on this local date: nothing on a day off, else the week's plus any extra hours."""
        extra: tuple[Interval, ...] = ()
        for exception in self.exceptions:
            if exception.covers(day):
                if isinstance(exception, TimeOff):
                    return ()
                extra = exception.intervals
        return self.week.on(day.weekday()) + extra

    def time_off_on(self, day: date) -> TimeOff | None:
        return next((e for e in self.exceptions if isinstance(e, TimeOff) and e.covers(day)), None)


def _without_union_tags(title: str, invalid: ValidationError) -> ValidationError:
    """pydantic puts the union member's tag in the path (``exceptions.1.extra.day``);
    clients sent ``exceptions.1.day``, so that is the path they get."""
    problems: list[tuple[str, str, tuple[str | int, ...], Any]] = []
    for error in invalid.errors():
        loc = tuple(error["loc"])
        if len(loc) > 2 and loc[0] == "exceptions" and loc[2] in ("off", "extra"):
            loc = loc[:2] + loc[3:]
        problems.append((error["type"], error["msg"], loc, error.get("input")))
    return _errors(title, problems)


def _days_of(exception: TimeOff | ExtraHours) -> tuple[date, date]:
    if isinstance(exception, TimeOff):
        return exception.first_day, exception.last_day
    return exception.day, exception.day


@functools.lru_cache(maxsize=512)
def _zone_or_none(key: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _errors(title: str, problems: list[tuple[str, str, tuple[str | int, ...], Any]]) -> ValidationError:
    """A ValidationError whose entries point at the offending field (pydantic prefixes the outer path)."""
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)
            for kind, message, loc, value in problems
        ],
    )


# --- Wall time to instants -----------------------------------------------------------------------------------------


def to_instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall time `minute` minutes after the start of `day` in `zone`.

    Nonexistent (gap) wall times give the first instant after the gap; ambiguous
    (repeated) ones their first occurrence (fold=0). Monotone in (day, minute).
    """
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    return _wall_to_utc(wall, zone)


@functools.lru_cache(maxsize=65536)
def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # In a gap: fold=0 read it with the offset before the jump (an instant past
    # the jump), fold=1 with the one after (an instant before it). The jump lies
    # between; tzdata transitions are whole seconds, so bisect on seconds.
    after_jump = wall.replace(tzinfo=zone, fold=1).utcoffset()
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())  # offset before the jump applies here
    high = int(instant.timestamp())  # offset after the jump applies here
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after_jump:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def shift_spans(schedule: WeeklySchedule, first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
    """On-shift stretches ``[start, end)`` in UTC of the intervals starting on local days
    first_day..last_day, sorted, with touching and overlapping ones merged."""
    zone = ZoneInfo(schedule.time_zone)
    raw: list[tuple[datetime, datetime]] = []
    day = first_day
    while day <= last_day:
        for interval in schedule.intervals_on(day):
            start = to_instant(day, interval.start_minute, zone)
            end = to_instant(day, interval.end_minute, zone)
            if end > start:  # an interval wholly inside a DST gap is empty
                raw.append((start, end))
        day += timedelta(days=1)
    raw.sort()
    merged: list[tuple[datetime, datetime]] = []
    for start, end in raw:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _local_day(schedule: WeeklySchedule, at: datetime) -> date:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timezone-aware instant is required")
    return at.astimezone(ZoneInfo(schedule.time_zone)).date()


def is_on_shift(schedule: WeeklySchedule, at_utc: datetime) -> bool:
    """Whether `at_utc` falls within the operator's working time."""
    day = _local_day(schedule, at_utc)
    # An interval lasts under 24 wall hours and belongs to the day it starts:
    # only yesterday's and today's can cover now (one more day each side for DST).
    spans = shift_spans(schedule, day - timedelta(days=2), day + timedelta(days=1))
    return any(start <= at_utc < end for start, end in spans)


class Transition(NamedTuple):
    """The next moment the operator goes on (``becomes_on``) or off shift."""

    at: datetime
    becomes_on: bool


def next_transition(
    schedule: WeeklySchedule, after_utc: datetime, horizon: timedelta = DEFAULT_HORIZON
) -> Transition | None:
    """The first instant strictly after `after_utc`, within `horizon`, where the
    on-shift state changes; None when it does not change within the horizon.

    At ``Transition.at`` the new state already holds (spans are half-open).
    """
    day = _local_day(schedule, after_utc)
    until = after_utc + horizon
    last_day = day + timedelta(days=horizon.days + 3)
    for start, end in shift_spans(schedule, day - timedelta(days=2), last_day):
        if end <= after_utc:
            continue
        if start > after_utc:
            return Transition(start, True) if start <= until else None
        # On shift now; this merged span may run into the window's last day, where it was cut short.
        return Transition(end, False) if end <= until else None
    return None


@dataclass(frozen=True)
class ShiftStatus:
    on_shift: bool
    until: datetime | None  # the next transition, UTC; None beyond the horizon
    reason: str | None  # the time-off category when today is a day off
    text: str  # e.g. "off shift until 09:00 Europe/Kyiv"


def shift_status(schedule: WeeklySchedule, at_utc: datetime, horizon: timedelta = DEFAULT_HORIZON) -> ShiftStatus:
    """For people and decision records: "off shift until 09:00 Europe/Kyiv",
    "on shift until Fri 18:00 Europe/Kyiv", "off shift (holiday) until 2027-01-04 09:00 Europe/Kyiv"."""
    zone = ZoneInfo(schedule.time_zone)
    on = is_on_shift(schedule, at_utc)
    change = next_transition(schedule, at_utc, horizon)
    today = at_utc.astimezone(zone).date()
    time_off = None if on else schedule.time_off_on(today)
    state = "on shift" if on else "off shift"
    if time_off is not None:
        state += f" ({time_off.reason})"
    if change is None:
        text = f"{state}, no change in the next {horizon.days} days"
        return ShiftStatus(on, None, time_off.reason if time_off else None, text)
    local = change.at.astimezone(zone)
    if local.date() == today:
        when = local.strftime("%H:%M")
    elif (local.date() - today).days < 7:
        when = f"{DAY_NAMES[local.weekday()].capitalize()} {local:%H:%M}"
    else:
        when = f"{local:%Y-%m-%d %H:%M}"
    text = f"{state} until {when} {schedule.time_zone}"
    return ShiftStatus(on, change.at, time_off.reason if time_off else None, text)
