"""The week's view of shifts and presence (GET /schedules/week)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from chalicelib.schemas.common import Output, Query
from chalicelib.schemas.operators import Presence


class WeekQuery(Query):
    start: date | None = Field(None, description="The first day (YYYY-MM-DD); default: this week's Monday (UTC)")


class ShiftSpan(Output):
    start: datetime = Field(description="UTC; clipped to the week")
    end: datetime = Field(description="UTC; clipped to the week")


class TimeOffDays(Output):
    first_day: date
    last_day: date
    reason: str = Field(description="holiday, leave, sick or other")


class WeekRow(Output):
    operator_id: str
    name: str
    time_zone: str | None = Field(description="null: no schedule (always on shift, no spans listed)")
    presence: Presence
    presence_reason: str | None
    presence_until: datetime | None
    shifts: list[ShiftSpan]
    time_off: list[TimeOffDays]


class WeekOut(Output):
    start: date
    end: date
    operators: list[WeekRow] = Field(description="Admin: every operator; an operator: only itself")
