"""Per operator, per source, per day: what an appeals-table stream batch adds to
the response-time and outcome analytics, as pure data (not wired yet: the
stream dispatcher will call `fold` and write the result with one atomic ADD
per counter and histogram bucket).

Each record is a Lambda DynamoDB stream record with both images. What a
change adds, to the day (UTC) it happened:

* ``assigned``: the operator changed to a new one (intake, drain, reassignment,
  a hand assignment), counted for the new operator on the day of ``assigned_at``;
* ``accept_buckets``: ``accepted_at`` appeared: seconds from ``assigned_at``,
  into a fixed-bucket histogram (`chalicelib.insight.stats`);
* ``close_buckets``: the status became closed: seconds from ``assigned_at``;
* ``reassigned``: ``reassign_count`` grew, for the operator it was taken from;
* ``sla_lapses``: an operator joined ``lapsed_operator_ids`` (for that operator);
* ``escalated``: ``escalated`` became true (for the operator it was taken from,
  or ``-`` when it never had one).

Rows that are not appeals (markers, aliases, memberships in the same table)
and removals add nothing. A redelivered batch would add twice: the caller
keeps the batch's sequence numbers to skip what it already applied.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.insight.stats import bucket_of, day_of

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["NOBODY", "DayKey", "DayTotals", "fold"]

NOBODY = "-"


@dataclass(frozen=True, order=True)
class DayKey:
    source_id: str
    operator_id: str
    day: date


@dataclass
class DayTotals:
    assigned: int = 0
    reassigned: int = 0
    sla_lapses: int = 0
    escalated: int = 0
    closed: int = 0
    accept_buckets: dict[int, int] = field(default_factory=dict)
    close_buckets: dict[int, int] = field(default_factory=dict)


if TYPE_CHECKING:
    from collections.abc import Callable

    _At = Callable[[str | None, datetime | None], DayTotals | None]


def _plain(value: dict[str, Any]) -> Any:
    """One attribute of DynamoDB's JSON, as far as appeals use it (S, N, BOOL, NULL, SS, L)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return raw
    if kind == "N":
        return float(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "SS":
        return set(raw)
    if kind == "L":
        return [_plain(item) for item in raw]
    return None


def _image(record: dict[str, Any], which: str) -> dict[str, Any]:
    raw = (record.get("dynamodb") or {}).get(which) or {}
    return {name: _plain(value) for name, value in raw.items()}


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _last_event_at(row: dict[str, Any]) -> datetime | None:
    """When the change happened: the `at` of the event this write appended to the history."""
    events = row.get("events") or []
    try:
        last = json.loads(events[-1]) if events else {}
    except (TypeError, ValueError):
        return None
    return _moment(last.get("at")) if isinstance(last, dict) else None


def fold(records: Iterable[dict[str, Any]]) -> dict[DayKey, DayTotals]:
    """What the batch adds, by (source, operator, day)."""
    totals: dict[DayKey, DayTotals] = defaultdict(DayTotals)
    for record in records:
        if record.get("eventName") not in ("INSERT", "MODIFY"):
            continue
        new, old = _image(record, "NewImage"), _image(record, "OldImage")
        if not new.get("source_id") or not new.get("status"):
            continue  # not an appeal
        _add(totals, old, new)
    return dict(totals)


def _add(totals: dict[DayKey, DayTotals], old: dict[str, Any], new: dict[str, Any]) -> None:
    source = str(new["source_id"])

    def at(operator_id: str | None, moment: datetime | None) -> DayTotals | None:
        if moment is None:
            return None
        return totals[DayKey(source, operator_id or NOBODY, day_of(moment))]

    _add_timings(at, old, new)
    _add_moves(at, old, new)


def _bump(buckets: dict[int, int], start: datetime, end: datetime) -> None:
    bucket = bucket_of(max(0.0, (end - start).total_seconds()))
    buckets[bucket] = buckets.get(bucket, 0) + 1


def _add_timings(at: _At, old: dict[str, Any], new: dict[str, Any]) -> None:
    operator = new.get("operator_id")
    assigned_at = _moment(new.get("assigned_at"))
    if operator and operator != old.get("operator_id") and (row := at(operator, assigned_at)):
        row.assigned += 1
    accepted = _moment(new.get("accepted_at"))
    if accepted and assigned_at and not old.get("accepted_at") and (row := at(operator, accepted)):
        _bump(row.accept_buckets, assigned_at, accepted)
    closed = _moment(new.get("closed_at"))
    if new.get("status") == "closed" and old.get("status") != "closed" and (row := at(operator, closed)):
        row.closed += 1
        if assigned_at and closed:
            _bump(row.close_buckets, assigned_at, closed)


def _add_moves(at: _At, old: dict[str, Any], new: dict[str, Any]) -> None:
    before = old.get("operator_id")
    changed = _last_event_at(new) or _moment(new.get("assigned_at")) or _moment(new.get("created_at"))
    if float(new.get("reassign_count") or 0) > float(old.get("reassign_count") or 0) and (row := at(before, changed)):
        row.reassigned += 1
    for lapsed in sorted(set(new.get("lapsed_operator_ids") or ()) - set(old.get("lapsed_operator_ids") or ())):
        if row := at(lapsed, changed):
            row.sla_lapses += 1
    if new.get("escalated") and not old.get("escalated") and (row := at(before, changed)):
        row.escalated += 1
