from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.schemas.common import EntityId, Output, Query


class OperatorDistribution(Output):
    id: str
    name: str
    weight: int
    target_share: float
    assigned_total: int
    actual_share: float
    active_now: int


class SourceDistribution(Output):
    source_id: str
    name: str
    strategy: str
    total_appeals: int
    waiting_now: int
    # When the newest appeal change counted in total_appeals / waiting_now happened
    # (they come from the appeals stream, usually within a second); None before the first.
    as_of: str | None = None
    operators: list[OperatorDistribution]


class OperatorAvailability(Output):
    id: str
    name: str
    weight: int
    is_active: bool
    current_load: int
    max_load: int
    is_available: bool


class SourceOperators(Output):
    source_id: str
    operators: list[OperatorAvailability]


# --- stream-fed analytics (issue 19) ---------------------------------------------------------------------------------

MAX_STATS_DAYS = 366


def _range_problem(first: date | datetime, last: date | datetime, *, hours: bool) -> str | None:
    """Why `to` cannot end a range starting at `from` (None: it can)."""
    if hours:
        span = _as_instant(last, end=True) - _as_instant(first, end=False)
        if span <= timedelta(0):
            return "must be after `from`"
        if span > timedelta(days=MAX_STATS_DAYS):
            return f"at most {MAX_STATS_DAYS} days after `from`"
        return None
    span = _as_instant(last, end=False) - _as_instant(first, end=False)
    if span < timedelta(0):
        return "must not be before `from`"
    if span.days + 1 > MAX_STATS_DAYS:
        return f"at most {MAX_STATS_DAYS} days from `from`, both included"
    return None


def _as_instant(value: date | datetime, *, end: bool) -> datetime:
    """A date is its whole day (from 00:00, or to the next 00:00 for an end); a datetime is itself."""
    if isinstance(value, datetime):
        return value
    start = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def _date_or_datetime(raw: object) -> object:
    """`2026-11-30` is a day; anything longer an ISO datetime, UTC when it names no zone.
    Parsed here, so a bad value is one problem on its field (not one per member of the union)."""
    if not isinstance(raw, str):
        return raw
    try:
        if len(raw) <= 10:
            return date.fromisoformat(raw)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise PydanticCustomError("date_parsing", "not an ISO 8601 date (YYYY-MM-DD) or datetime") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


DateOrDatetime = Annotated[date | datetime, BeforeValidator(_date_or_datetime)]


class OperatorStatsQuery(Query):
    from_: date = Field(alias="from", description="First day (UTC), YYYY-MM-DD")
    to: date = Field(description=f"Last day (UTC), included; at most {MAX_STATS_DAYS} days in all")
    source_id: EntityId | None = Field(None, description="Only this source's appeals (default: every source)")

    @field_validator("to")
    @classmethod
    def _within_range(cls, value: date, info: ValidationInfo) -> date:
        first = info.data.get("from_")
        if isinstance(first, date) and (problem := _range_problem(first, value, hours=False)):
            raise PydanticCustomError("range", problem)
        return value


class TimelineQuery(Query):
    from_: DateOrDatetime = Field(alias="from", description="Start: a day (its 00:00 UTC) or an ISO datetime")
    to: DateOrDatetime = Field(
        description=f"End: a day (included whole) or an ISO datetime (excluded); at most {MAX_STATS_DAYS} days"
    )

    @field_validator("to")
    @classmethod
    def _within_range(cls, value: date | datetime, info: ValidationInfo) -> date | datetime:
        first = info.data.get("from_")
        if isinstance(first, date) and (problem := _range_problem(first, value, hours=True)):
            raise PydanticCustomError("range", problem)
        return value


class OperatorStats(Output):
    operator_id: str
    name: str
    assigned: int = Field(description="Appeals handed to the operator (intake, line, reassignment, by hand)")
    accepted: int
    closed: int
    accept_p50_seconds: float | None = Field(description="Time from assignment to accept, median (bucket bound)")
    accept_p90_seconds: float | None
    close_p50_seconds: float | None = Field(description="Time from assignment to close, median (bucket bound)")
    close_p90_seconds: float | None
    sla_lapses: int
    reassignments: int = Field(description="Appeals taken from the operator and handed to someone else")
    escalations: int
    transferred: int = Field(description="The operator's appeals whose lead reached `transferred` in the range")
    paid: int = Field(description="The operator's appeals whose lead's deal reached `paid` in the range")
    conversion: float | None = Field(description="transferred / assigned; null when assigned is 0")


class OperatorStatsOut(Output):
    # `from` is a Python keyword: the field is `from_`, written (and documented) as `from`.
    model_config = ConfigDict(extra="forbid", defer_build=True, serialize_by_alias=True, validate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    source_id: str | None = None
    as_of: str | None = Field(description="When the newest change counted in these rows happened (UTC)")
    operators: list[OperatorStats]


class TimelineHour(Output):
    hour: datetime = Field(description="Start of the hour, UTC")
    arrivals: int
    assigned: int
    waiting: int = Field(description="Appeals waiting in line at the end of the hour")
    median_wait_seconds: float | None = Field(description="Arrival to first assignment, of those assigned this hour")


class SourceTimelineOut(Output):
    model_config = ConfigDict(extra="forbid", defer_build=True, serialize_by_alias=True, validate_by_name=True)

    source_id: str
    from_: datetime = Field(alias="from")
    to: datetime
    as_of: str | None
    hours: list[TimelineHour]
