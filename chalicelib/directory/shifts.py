"""Shifts and presence on the operator row: schedule writes, presence changes, the shift job
and the week's view.

Every write that can change what an operator's presence should be (a schedule put or
deleted, a pause, a resume, the job) is conditional on the presence (and, for the job,
the `next_transition_at`) it read, so two writers never act twice and a pause landing
meanwhile is never overwritten. Who moves appeals after the write: a pause or a shift end
puts the operator's unaccepted appeals back through distribution (`reassignment.redistribute`);
a resume or a shift start drains the lines of the sources it serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chalicelib.access.ownership import ensure_acting_as_self
from chalicelib.core.errors import NotFound, ServiceBusy
from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.retry import tries
from chalicelib.db.transactions import update_if
from chalicelib.models.appeals import Reason
from chalicelib.models.operators import (
    SHIFT_DUE,
    Operator,
    get_operator_row,
    operators_by_id,
    operators_newest_first,
    shift_transitions_due,
)
from chalicelib.routing import reassignment, waiting_line
from chalicelib.routing.presence import AVAILABLE, OFF_SHIFT, PAUSED, parse_schedule, shift_state
from chalicelib.schemas.jobs import ShiftReport
from chalicelib.schemas.schedules import WeeklySchedule, shift_spans
from chalicelib.schemas.shifts import ShiftSpan, TimeOffDays, WeekOut, WeekRow

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pynamodb.expressions.condition import Condition
    from pynamodb.expressions.update import Action

    from chalicelib.access.principal import Principal
    from chalicelib.routing.presence import PresenceName

__all__ = [
    "Moved",
    "delete_schedule",
    "get_schedule",
    "put_schedule",
    "run_shift_transitions",
    "set_presence",
    "week_of",
]

_OPERATOR = "operator"


@dataclass(frozen=True)
class Moved:
    """What a presence change did: the new presence, and the appeals it moved."""

    presence: str
    returned: int = 0
    drained: int = 0


def _presence_fields(target: PresenceName, reason: str | None, schedule: str | None, now: datetime) -> dict[str, Any]:
    """The presence attributes for `target` (paused, or settle on the schedule)."""
    if target == PAUSED:
        return {"presence": PAUSED, "presence_reason": reason, "presence_until": None}
    if schedule is None:
        return {"presence": AVAILABLE, "presence_reason": None, "presence_until": None}
    state = shift_state(parse_schedule(schedule), now)
    if state.on_shift:
        return {"presence": AVAILABLE, "presence_reason": None, "presence_until": None}
    return {"presence": OFF_SHIFT, "presence_reason": state.text, "presence_until": state.until}


def _actions(fields: dict[str, Any]) -> list[Action]:
    return [
        getattr(Operator, name).set(value) if value is not None else getattr(Operator, name).remove()
        for name, value in fields.items()
    ]


def _same_presence(row: Operator) -> Condition:
    """Still the presence this writer read (None: never set, i.e. available)."""
    if row.presence is None:
        return Operator.presence.does_not_exist()
    return Operator.presence == row.presence


def _after(operator_id: str, before: str, after: str) -> Moved:
    """Moves appeals for a committed presence change: leaving `available` returns the
    unaccepted ones; reaching it drains the lines (best effort: the job catches up)."""
    if before == AVAILABLE and after != AVAILABLE:
        reason = Reason.OPERATOR_PAUSED if after == PAUSED else Reason.SHIFT_ENDED
        return Moved(after, returned=sum(reassignment.redistribute(operator_id, reason=reason).values()))
    if before != AVAILABLE and after == AVAILABLE:
        return Moved(after, drained=waiting_line.drain_after_release(operator_id))
    return Moved(after)


def set_presence(
    operator_id: str,
    target: PresenceName,
    reason: str | None,
    *,
    extra: Sequence[Action] = (),
    guard: Condition | None = None,
) -> Moved | None:
    """Pauses or resumes; None when `guard` (e.g. "an admin has not deactivated it") failed.

    A pause returns the operator's unaccepted appeals at once (not a minute later by the
    job); a resume drains its sources' lines. Conditional on the presence it read."""
    for _ in tries(None):
        row = get_operator_row(operator_id)
        before = row.presence or AVAILABLE
        fields = _presence_fields(target, reason, row.schedule, utc_now())
        condition = Operator.operator_id.exists() & _same_presence(row)
        if guard is not None:
            condition &= guard
        actions = [*_actions(fields), *extra, Operator.updated_at.set(iso(utc_now()))]
        if update_if(Operator(operator_id), actions, condition, _OPERATOR):
            logger.info(
                "operator presence changed",
                extra={"operator_id": operator_id, "from": before, "to": fields["presence"]},
            )
            return _after(operator_id, before, fields["presence"])
        if guard is not None and get_operator_row(operator_id).presence == row.presence:
            return None  # the presence did not move: the caller's guard refused
    raise ServiceBusy("this operator's presence is changing too fast; retry shortly")


# --- schedules -----------------------------------------------------------------------------------------------


def get_schedule(operator_id: str, *, viewer: Principal) -> WeeklySchedule:
    """The operator's schedule; 404 when it has none (then it is always on shift)."""
    ensure_acting_as_self(operator_id, viewer)
    row = get_operator_row(operator_id)
    if row.schedule is None:
        raise NotFound(f"operator {operator_id!r} has no schedule: it is always on shift")
    return parse_schedule(row.schedule)


def put_schedule(operator_id: str, schedule: WeeklySchedule, *, viewer: Principal) -> WeeklySchedule:
    """Stores the schedule and settles presence and `next_transition_at` at once (the job
    then acts on the next change, not on the write)."""
    ensure_acting_as_self(operator_id, viewer)
    _write_schedule(operator_id, schedule.model_dump_json(), schedule.time_zone)
    return schedule


def delete_schedule(operator_id: str, *, viewer: Principal) -> None:
    """No schedule: always on shift (an off-shift operator becomes available)."""
    ensure_acting_as_self(operator_id, viewer)
    _write_schedule(operator_id, None, None)


def _write_schedule(operator_id: str, stored: str | None, zone: str | None) -> Moved:
    for _ in tries(None):
        row = get_operator_row(operator_id)
        now = utc_now()
        before = row.presence or AVAILABLE
        fields: dict[str, Any] = {"schedule": stored, "time_zone": zone}
        if stored is None:
            fields |= {"shift_due": None, "next_transition_at": None}
        else:
            fields |= {
                "shift_due": SHIFT_DUE,
                "next_transition_at": shift_state(parse_schedule(stored), now).next_transition_at,
            }
        if before != PAUSED:
            fields |= _presence_fields(AVAILABLE, None, stored, now)
        actions = [*_actions(fields), Operator.updated_at.set(iso(now))]
        if update_if(row, actions, Operator.operator_id.exists() & _same_presence(row), _OPERATOR):
            logger.info(
                "operator schedule written",
                extra={"operator_id": operator_id, "cleared": stored is None, "presence": row.presence or AVAILABLE},
            )
            return _after(operator_id, before, row.presence or AVAILABLE)
    raise ServiceBusy("this operator is changing too fast; retry shortly")


# --- the shift job -------------------------------------------------------------------------------------------


def run_shift_transitions(now: datetime | None = None) -> ShiftReport:
    """Every minute: the operators whose `next_transition_at` has come (one Query of the sparse
    index, one BatchGet of those rows), each moved to what its schedule says now, conditional on
    the `next_transition_at` and presence it read (two runs never both act). Costs
    O(operators changing state), never O(all operators)."""
    now = now or utc_now()
    due = shift_transitions_due(iso(now))
    counts = {"due": len(due), "went_on": 0, "went_off": 0, "rescheduled": 0, "skipped": 0, "returned": 0, "drained": 0}
    rows = operators_by_id(due, consistent=True)
    for operator_id in due:
        row = rows.get(operator_id)
        if row is None or row.schedule is None or row.next_transition_at is None or row.next_transition_at > iso(now):
            counts["skipped"] += 1  # the index lags the row: the write that moved it settled it
            continue
        try:
            schedule = parse_schedule(row.schedule)
        except ValidationError:
            logger.error("stored schedule unreadable", extra={"operator_id": operator_id})
            counts["skipped"] += 1
            continue
        outcome = _transition(row, schedule, now)
        counts[outcome.kind] += 1
        counts["returned"] += outcome.moved.returned
        counts["drained"] += outcome.moved.drained
    report = ShiftReport(**counts)
    logger.info("shift run", extra=report.model_dump())
    return report


@dataclass(frozen=True)
class _Outcome:
    kind: str
    moved: Moved


def _transition(row: Operator, schedule: WeeklySchedule, now: datetime) -> _Outcome:
    state = shift_state(schedule, now)
    before = row.presence or AVAILABLE
    fields: dict[str, Any] = {"next_transition_at": state.next_transition_at}
    if before != PAUSED:
        fields |= _presence_fields(AVAILABLE, None, row.schedule, now)
    condition = (Operator.next_transition_at == row.next_transition_at) & _same_presence(row)
    if not update_if(Operator(row.operator_id), _actions(fields), condition, _OPERATOR):
        # Another run, a schedule write or a pause got there first: it settled the row.
        return _Outcome("skipped", Moved(before))
    after = fields.get("presence", before)
    logger.info("shift transition", extra={"operator_id": row.operator_id, "from": before, "to": after})
    moved = _after(row.operator_id, before, after)
    if after == before:
        return _Outcome("rescheduled", moved)
    return _Outcome("went_on" if after == AVAILABLE else "went_off", moved)


# --- the week -------------------------------------------------------------------------------------------------


def week_of(start: date | None, *, viewer: Principal) -> WeekOut:
    """Everyone's shifts (admin) or the caller's own (operator) for the week from `start`
    (default: this week's Monday, UTC). Operators without a schedule are always on shift:
    their row has no spans and `time_zone` null."""
    first = start or _monday(utc_now().date())
    last = first + timedelta(days=6)
    rows = _all_operators() if viewer.is_admin else [get_operator_row(viewer.operator_id)] if viewer.operator_id else []
    window = (datetime.combine(first, time(), UTC), datetime.combine(last + timedelta(days=1), time(), UTC))
    return WeekOut(start=first, end=last, operators=[_week_row(row, first, last, window) for row in rows])


def _all_operators() -> list[Operator]:
    rows: list[Operator] = []
    cursor: str | None = None
    while True:
        page, cursor = operators_newest_first(200, cursor)
        rows.extend(page)
        if cursor is None:
            return rows


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _week_row(row: Operator, first: date, last: date, window: tuple[datetime, datetime]) -> WeekRow:
    shifts: list[ShiftSpan] = []
    time_off: list[TimeOffDays] = []
    if row.schedule:
        schedule = parse_schedule(row.schedule)
        # A day each side: a local day reaches into the UTC window from either end.
        for begin, end in shift_spans(schedule, first - timedelta(days=1), last + timedelta(days=1)):
            if end > window[0] and begin < window[1]:
                shifts.append(ShiftSpan(start=max(begin, window[0]), end=min(end, window[1])))
        for exception in schedule.exceptions:
            if exception.kind == "off" and exception.first_day <= last and exception.last_day >= first:
                time_off.append(
                    TimeOffDays(first_day=exception.first_day, last_day=exception.last_day, reason=exception.reason)
                )
    return WeekRow(
        operator_id=row.operator_id,
        name=row.name,
        time_zone=row.time_zone,
        presence=row.presence or AVAILABLE,
        presence_reason=row.presence_reason,
        presence_until=row.presence_until,
        shifts=shifts,
        time_off=time_off,
    )
