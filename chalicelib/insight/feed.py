"""The stream-fed analytics: appeals- and leads-stream batches -> the stats table's rows
(`chalicelib.models.stats`), one guarded atomic update per row touched.

What a record adds is pure data (`appeal_changes`, `lead_outcomes`); applying it is
one `add_row_changes` per row, each idempotent per shard, so a batch that fails
half-way is redelivered whole and adds only what it had not.

* per operator and day (for the source and for all sources): `chalicelib.insight.daily`'s
  fold of the record (assigned, accepted, closed, time to accept / close buckets, SLA
  lapses, reassignments, escalations);
* per source and hour: an appeal created is an *arrival* (hour of `created_at`); an
  assignment to a new operator counts in *assigned* (hour of `assigned_at`), and a
  first assignment (no operator before, never reassigned) adds its wait since the
  appeal arrived to the wait histogram; `waiting` is the net change in appeals
  whose status is `waiting` (hour of the change), also added to the running count;
* per lead, source and operator: +1 when one of the lead's appeals is handed to the
  operator, -1 when taken back (as `LeadMembership` counts);
* from the leads stream: a lead reaching `transferred`, or its deal reaching `paid`,
  credits each operator with the number of the lead's appeals it holds, per source,
  on the day it happened.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.insight.daily import NOBODY, DayTotals, fold
from chalicelib.insight.stats import bucket_of, hour_of
from chalicelib.models.appeals import APPEAL_ID_PREFIX
from chalicelib.models.leads import DEAL_PREFIX, LEAD_PREFIX
from chalicelib.models.stats import (
    ALL_SOURCES,
    WAITING_TOTAL,
    RowChanges,
    add_row_changes,
    day_sk,
    handled_pairs,
    hours_key,
    lead_key,
    ops_key,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "Change",
    "appeal_changes",
    "apply_appeal_analytics",
    "apply_lead_analytics",
    "day_counters",
    "hour_sk",
    "lead_outcomes",
]

# (pk, sk, counters, when) one record adds to one row.
Change = tuple[str, str, dict[str, int], str | None]
_WAITING = "waiting"
# A deal's key in the leads table (`deal_key`): `deal#dl_…`.
_DEAL_KEY = f"deal#{DEAL_PREFIX}"


def _image(record: dict[str, Any], which: str) -> dict[str, Any]:
    # Imported here: only the stream functions need it, not the API's cold start.
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    raw = (record.get("dynamodb") or {}).get(which) or {}
    return {key: deserializer.deserialize(value) for key, value in raw.items()}


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hour_sk(moment: datetime) -> str:
    """The sort key of an hour row: its start, ISO UTC."""
    return _iso(hour_of(moment))


def day_counters(totals: DayTotals) -> dict[str, int]:
    """A day fold's totals as the row's counter attributes (zeros left out)."""
    counts = {
        "assigned": totals.assigned,
        "accepted": sum(totals.accept_buckets.values()),
        "closed": totals.closed,
        "sla_lapses": totals.sla_lapses,
        "reassignments": totals.reassigned,
        "escalations": totals.escalated,
        **{f"a{bucket}": n for bucket, n in totals.accept_buckets.items()},
        **{f"c{bucket}": n for bucket, n in totals.close_buckets.items()},
    }
    return {name: value for name, value in counts.items() if value}


def _change_time(record: dict[str, Any], new: dict[str, Any]) -> datetime:
    events = new.get("events") or []
    if events:
        import json

        try:
            last = json.loads(events[-1])
        except (TypeError, ValueError):
            last = {}
        if isinstance(last, dict) and (moment := _moment(last.get("at"))):
            return moment
    seconds = float((record.get("dynamodb") or {}).get("ApproximateCreationDateTime") or 0)
    return datetime.fromtimestamp(seconds, UTC)


def _hour_changes(record: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    source = str(new["source_id"])
    key = hours_key(source)
    changes: list[Change] = []
    created = _moment(new.get("created_at"))
    if not old and created:
        changes.append((key, hour_sk(created), {"arrivals": 1}, _iso(created)))
    operator, assigned_at = new.get("operator_id"), _moment(new.get("assigned_at"))
    if operator and operator != old.get("operator_id") and assigned_at:
        counts = {"assigned": 1}
        if not old.get("operator_id") and not int(new.get("reassign_count") or 0) and created:
            counts[f"w{bucket_of(max(0.0, (assigned_at - created).total_seconds()))}"] = 1
        changes.append((key, hour_sk(assigned_at), counts, _iso(assigned_at)))
    waiting = (new.get("status") == _WAITING) - (old.get("status") == _WAITING)
    if waiting:
        when = _change_time(record, new)
        changes.append((key, hour_sk(when), {"waiting": waiting}, _iso(when)))
        changes.append((key, day_sk(when.astimezone(UTC).date().isoformat()), {"waiting": waiting}, _iso(when)))
        changes.append((key, WAITING_TOTAL, {"waiting": waiting}, _iso(when)))
    return changes


def _member_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    before, after = old.get("operator_id"), new.get("operator_id")
    if before == after or not new.get("lead_id"):
        return []
    key, source = lead_key(str(new["lead_id"])), str(new["source_id"])
    changes: list[Change] = []
    if before:
        changes.append((key, f"{source}#{before}", {"appeals": -1}, None))
    if after:
        changes.append((key, f"{source}#{after}", {"appeals": 1}, None))
    return changes


def appeal_changes(record: dict[str, Any]) -> list[Change]:
    """Pure: every row change one appeals-stream record makes (none for markers, members,
    messages and removals)."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return []
    new, old = _image(record, "NewImage"), _image(record, "OldImage")
    if not str(new.get("appeal_id") or "").startswith(APPEAL_ID_PREFIX) or not new.get("status"):
        return []
    if not new.get("source_id") or "lead_id" not in new:
        return []
    changes: list[Change] = []
    when = _iso(_change_time(record, new))
    for day_key, totals in fold([record]).items():
        counts = day_counters(totals)
        if day_key.operator_id == NOBODY or not counts:
            continue
        sk = f"{day_key.day.isoformat()}#{day_key.operator_id}"
        for scope in (day_key.source_id, ALL_SOURCES):
            changes.append((ops_key(scope), sk, counts, when))
    return changes + _hour_changes(record, old, new) + _member_changes(old, new)


def lead_outcomes(record: dict[str, Any]) -> list[tuple[str, str, datetime]]:
    """Pure: (lead id, `transferred` | `paid`, when) a leads-stream record announces."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return []
    new, old = _image(record, "NewImage"), _image(record, "OldImage")
    key = str(new.get("lead_id") or "")
    if key.startswith(LEAD_PREFIX) and new.get("stage") == "transferred" and old.get("stage") != "transferred":
        when = _moment(new.get("stage_changed_at")) or _moment(new.get("updated_at"))
        return [(key, "transferred", when)] if when else []
    paid = new.get("deal_stage") == "paid" and old.get("deal_stage") != "paid"
    if key.startswith(_DEAL_KEY) and paid and new.get("deal_lead_id"):
        when = _moment(new.get("updated_at"))
        return [(str(new["deal_lead_id"]), "paid", when)] if when else []
    return []


def _outcome_changes(record: dict[str, Any], pairs_of: Callable[[str], dict[tuple[str, str], int]]) -> list[Change]:
    changes: list[Change] = []
    for lead_id, outcome, when in lead_outcomes(record):
        day = when.astimezone(UTC).date().isoformat()
        per_operator: dict[str, int] = {}
        for (source_id, operator_id), appeals in sorted(pairs_of(lead_id).items()):
            changes.append((ops_key(source_id), f"{day}#{operator_id}", {outcome: appeals}, _iso(when)))
            per_operator[operator_id] = per_operator.get(operator_id, 0) + appeals
        for operator_id, appeals in sorted(per_operator.items()):
            changes.append((ops_key(ALL_SOURCES), f"{day}#{operator_id}", {outcome: appeals}, _iso(when)))
    return changes


def _rows(records: list[dict[str, Any]], changes_of: Callable[[dict[str, Any]], list[Change]]) -> list[RowChanges]:
    rows: dict[tuple[str, str], RowChanges] = {}
    for record in records:
        sequence = str((record.get("dynamodb") or {}).get("SequenceNumber") or "")
        if not sequence:
            continue
        for pk, sk, counts, when in changes_of(record):
            row = rows.setdefault((pk, sk), RowChanges(pk, sk))
            row.changes.append((sequence, counts))
            if when and (row.as_of is None or when > row.as_of):
                row.as_of = when
    return list(rows.values())


# Rows are independent (each has its own mark): a batch's updates go out this many at a time.
_PARALLEL_UPDATES = 8


def _apply(rows: list[RowChanges], shard_id: str) -> int:
    if not shard_id:
        raise ValueError("a stream batch needs its shard id (the event's shardId)")
    if len(rows) <= 1:
        return sum(add_row_changes(row, shard_id) for row in rows)
    from concurrent.futures import ThreadPoolExecutor

    # Every row is attempted; the first failure (after all ran) fails the batch, which is
    # then redelivered and adds only what the marks say is missing.
    with ThreadPoolExecutor(min(_PARALLEL_UPDATES, len(rows))) as pool:
        futures = [pool.submit(add_row_changes, row, shard_id) for row in rows]
    return sum(future.result() for future in futures)


def apply_appeal_analytics(records: list[dict[str, Any]], *, shard_id: str) -> int:
    """Adds an appeals-stream batch to the analytics; returns the rows updated."""
    return _apply(_rows(records, appeal_changes), shard_id)


def apply_lead_analytics(records: list[dict[str, Any]], *, shard_id: str) -> int:
    """Adds a leads-stream batch's transfers and paid deals to the analytics; returns the rows updated.
    Reads the lead's handled pairs (one Query) only for a record that announces an outcome."""
    return _apply(_rows(records, lambda record: _outcome_changes(record, handled_pairs)), shard_id)
