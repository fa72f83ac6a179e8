"""The stats table: response-time and outcome analytics kept from the appeals and
leads streams (never written on a request path), and every query on it.

Three kinds of rows, all `pk` / `sk` strings and counters kept with atomic ADDs:

* ``ops#<source id | *>`` / ``<day>#<operator id>``: one operator's day, for one
  source and for all sources (``*``): assigned, accepted, closed, sla_lapses,
  reassignments, escalations, transferred, paid, and the histogram buckets of
  time to accept (``a<bucket>``) and to close (``c<bucket>``);
* ``hours#<source id>`` / ``<hour, ISO UTC>``: arrivals, assigned, the net change
  in how many wait (``waiting``) and the wait buckets (``w<bucket>``); beside them
  ``D<day>`` rows hold each day's net change and ``~waiting`` the running count, so
  "waiting at the end of an hour" is that count minus the changes of the days and
  the hours after it (read: the range's hours, the rest of its last day, the days since);
* ``lead#<lead id>`` / ``<source id>#<operator id>``: how many of the lead's
  appeals from that source are with that operator (+1 assigned, -1 taken back),
  which the leads stream reads to credit a transfer or a paid deal.

Every update is guarded by the row's mark for the stream shard it comes from
(as the source aggregates are, `chalicelib.models.sources.add_stream_batch`):
it adds only records past the mark and moves it, so a redelivered, bisected or
replayed batch adds nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.db.tables import TableMeta, TableName
from chalicelib.models.sources import padded_sequence

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "ALL_SOURCES",
    "WAITING_TOTAL",
    "RowChanges",
    "StatsRow",
    "add_row_changes",
    "day_sk",
    "handled_pairs",
    "hour_rows",
    "hours_key",
    "lead_key",
    "operator_day_rows",
    "operator_day_rows_of",
    "ops_key",
    "waiting_after",
]

ALL_SOURCES = "*"
WAITING_TOTAL = "~waiting"
_MARK_PREFIX = "m_"
# A concurrent consumer of one shard is not expected; a refused update is re-read this many times.
_ATTEMPTS = 3


class StatsRow(Model):
    """One analytics row (see the module doc); its counters are plain number attributes
    named by `chalicelib.insight.feed`, so rows are read as raw items."""

    class Meta(TableMeta):
        table_name = TableName("stats")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


def ops_key(scope: str) -> str:
    return f"ops#{scope}"


def hours_key(source_id: str) -> str:
    return f"hours#{source_id}"


def lead_key(lead_id: str) -> str:
    return f"lead#{lead_id}"


@dataclass
class RowChanges:
    """What a batch adds to one row, record by record in shard order: (sequence, counters)."""

    pk: str
    sk: str
    changes: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    as_of: str | None = None

    def totals(self) -> dict[str, int]:
        summed: dict[str, int] = {}
        for _, counts in self.changes:
            for name, value in counts.items():
                summed[name] = summed.get(name, 0) + value
        return {name: value for name, value in summed.items() if value}

    def after(self, mark: str) -> RowChanges:
        counted = mark.partition("|")[0]
        kept = [(s, c) for s, c in self.changes if padded_sequence(s) > counted]
        return RowChanges(self.pk, self.sk, kept, self.as_of)


def _client() -> Any:
    return StatsRow._get_connection().connection.client


def _mark_name(shard_id: str) -> str:
    return _MARK_PREFIX + "".join(c if c.isalnum() else "_" for c in shard_id)


def _update(row: RowChanges, shard_id: str, expected: str | None) -> bool:
    totals = row.totals()
    names: dict[str, str] = {"#m": _mark_name(shard_id)}
    values: dict[str, Any] = {":m": {"S": padded_sequence(row.changes[-1][0])}}
    adds = []
    for number, (name, value) in enumerate(sorted(totals.items())):
        names[f"#a{number}"] = name
        values[f":a{number}"] = {"N": str(value)}
        adds.append(f"#a{number} :a{number}")
    sets = ["#m = :m"]
    if row.as_of:
        names["#t"], values[":t"] = "as_of", {"S": row.as_of}
        sets.append("#t = :t")
    if expected is None:
        condition = "attribute_not_exists(#m) OR #m < :first"
        values[":first"] = {"S": padded_sequence(row.changes[0][0])}
    elif expected == "":
        condition = "attribute_not_exists(#m)"
    else:
        condition, values[":expected"] = "#m = :expected", {"S": expected}
    expression = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
    client = _client()
    try:
        client.update_item(
            TableName=StatsRow.Meta.table_name,
            Key={"pk": {"S": row.pk}, "sk": {"S": row.sk}},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def _mark_of(row: RowChanges, shard_id: str) -> str:
    answer = _client().get_item(
        TableName=StatsRow.Meta.table_name,
        Key={"pk": {"S": row.pk}, "sk": {"S": row.sk}},
        ConsistentRead=True,
        ProjectionExpression="#m",
        ExpressionAttributeNames={"#m": _mark_name(shard_id)},
    )
    return str(answer.get("Item", {}).get(_mark_name(shard_id), {}).get("S", ""))


def add_row_changes(row: RowChanges, shard_id: str) -> bool:
    """Adds a batch's changes to one row, once per record (see the module doc); False when
    the shard's mark already covers every record (a redelivery)."""
    expected: str | None = None
    for _ in range(_ATTEMPTS):
        if not row.changes or not row.totals():
            return False
        if _update(row, shard_id, expected):
            return True
        expected = _mark_of(row, shard_id)
        row = row.after(expected)
    raise RuntimeError("stats row: shard mark kept moving under the stream consumer")


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for name, value in item.items():
        if "N" in value:
            plain[name] = int(float(value["N"]))
        elif "S" in value:
            plain[name] = value["S"]
    return plain


def _query(pk: str, first: str, last: str) -> Iterator[dict[str, Any]]:
    """Every row of `pk` with first <= sk <= last, page by page (never a Scan)."""
    paginator = _client().get_paginator("query")
    pages = paginator.paginate(
        TableName=StatsRow.Meta.table_name,
        KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
        ExpressionAttributeValues={":pk": {"S": pk}, ":first": {"S": first}, ":last": {"S": last}},
    )
    for page in pages:
        for item in page.get("Items", []):
            yield _plain(item)


def operator_day_rows(scope: str, first_day: str, last_day: str) -> list[dict[str, Any]]:
    """Every operator's day rows of `scope` (a source id or `*`) from first to last day
    (ISO dates, both included): one Query reading days × active operators items."""
    return list(_query(ops_key(scope), f"{first_day}#", f"{last_day}#~"))


def operator_day_rows_of(scope: str, operator_id: str, days: Iterable[str]) -> list[dict[str, Any]]:
    """One operator's day rows: BatchGetItem of known keys, 100 a request (O(days))."""
    keys = [{"pk": {"S": ops_key(scope)}, "sk": {"S": f"{day}#{operator_id}"}} for day in days]
    found: list[dict[str, Any]] = []
    client, table = _client(), StatsRow.Meta.table_name
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {table: {"Keys": keys[start : start + 100]}}
        while request:
            answer = client.batch_get_item(RequestItems=request)
            found.extend(_plain(item) for item in answer.get("Responses", {}).get(table, []))
            request = answer.get("UnprocessedKeys") or {}
    return found


def day_sk(day: str) -> str:
    """The sort key of a source's day row (the day's net change in waiting), beside its hour rows:
    `D…` sorts after every `2…` hour and before `~waiting`."""
    return f"D{day}"


def hour_rows(source_id: str, first_hour: str, last_hour: str) -> list[dict[str, Any]]:
    """The source's hour rows from first to last hour (ISO, both included): one Query over
    the hours that had any change (rows exist only for those)."""
    return list(_query(hours_key(source_id), first_hour, last_hour))


def waiting_after(source_id: str, day: str) -> tuple[int, int, str | None]:
    """(the running waiting count, the net change of the days after `day`, when the newest
    change counted happened): one Query of the day rows after it and the count."""
    total = later = 0
    as_of: str | None = None
    for row in _query(hours_key(source_id), day_sk(day) + "~", WAITING_TOTAL):
        if row["sk"] == WAITING_TOTAL:
            total, as_of = int(row.get("waiting", 0)), row.get("as_of")
        else:
            later += int(row.get("waiting", 0))
    return total, later, as_of


def handled_pairs(lead_id: str) -> dict[tuple[str, str], int]:
    """(source id, operator id) → how many of the lead's appeals are with that operator now
    (active, or closed while with it): one Query of the lead's small rows."""
    pairs: dict[tuple[str, str], int] = {}
    # Source ids are `src_…`: every pair sorts between "0" and "~".
    for row in _query(lead_key(lead_id), "0", "~"):
        source_id, _, operator_id = str(row["sk"]).partition("#")
        if int(row.get("appeals", 0)) > 0:
            pairs[(source_id, operator_id)] = int(row["appeals"])
    return pairs
