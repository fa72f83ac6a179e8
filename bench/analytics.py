"""What the stream-fed analytics cost: DynamoDB requests and items read per query, with
10,000 and 1,000,000 appeals of history, and requests per stream batch.

One source, `--operators` operators (default 20), a year of history (365 days).

* 10,000 appeals: fed through the real consumer (`chalicelib.insight.feed`) as the
  appeals stream would carry them (an INSERT when the appeal arrives and is
  assigned, or waits first and is assigned later; a MODIFY when accepted; one when
  closed), in batches of 100 records (Lambda's batch size), time-ordered. Each
  batch's requests are counted: that is the stream side's cost.
* 1,000,000 appeals: the same rows written directly (one day row per operator and
  scope, one hour row per hour), with counters for ~1M appeals. The point: a query
  reads rows per (day, operator) and per hour, never per appeal, so its cost is the
  same as with 10,000 appeals spread over the same days and operators.

Per history, the queries measured (the services the routes call):

    operators, all sources, last 30 days | last 365 days | one source, 365 days |
    one operator's own row, 365 days | timeline, last 7 days | timeline, 365 days

    python -m bench.analytics [--operators 20] [--appeals 10000] [--big 1000000]

Needs Java and DynamoDB Local (falls back to moto with a warning; request counts hold there).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer

from bench.intake import dynamodb
from chalicelib.access.principal import Principal
from chalicelib.core.ids import iso
from chalicelib.directory import operators, sources
from chalicelib.directory.weights import replace_weights
from chalicelib.insight import reports
from chalicelib.insight.feed import apply_appeal_analytics
from chalicelib.insight.stats import BUCKET_BOUNDS
from chalicelib.models import count_requests, create_tables, dynamodb_clients
from chalicelib.models.stats import ALL_SOURCES, WAITING_TOTAL, StatsRow, day_sk, hours_key, ops_key
from chalicelib.schemas.operators import OperatorCreate
from chalicelib.schemas.sources import SourceCreate, WeightIn, WeightSet
from chalicelib.schemas.stats import OperatorStatsQuery, TimelineQuery

if TYPE_CHECKING:
    from collections.abc import Iterator

FIRST_DAY = date(2025, 12, 1)
DAYS = 365
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
BATCH = 100
ADMIN = Principal(role="admin", subject="bench")
_serializer = TypeSerializer()


@contextmanager
def items_read() -> Iterator[Counter[str]]:
    """Items DynamoDB returned while the block runs, by operation."""
    counts: Counter[str] = Counter()

    def count(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "Query":
            counts["Query"] += int(parsed.get("Count", 0))
        elif model.name == "BatchGetItem":
            counts["BatchGetItem"] += sum(len(items) for items in (parsed.get("Responses") or {}).values())
        elif model.name == "GetItem" and parsed.get("Item"):
            counts["GetItem"] += 1

    clients = list(dynamodb_clients())
    for client in clients:
        client.meta.events.register("after-call.dynamodb", count)
    try:
        yield counts
    finally:
        for client in clients:
            client.meta.events.unregister("after-call.dynamodb", count)


def team(size: int) -> tuple[str, list[str]]:
    people = [operators.create_operator(OperatorCreate(name=f"Operator {n}", max_load=1000)) for n in range(size)]
    source = sources.create_source(SourceCreate(name="Bench source"))
    replace_weights(source.id, WeightSet([WeightIn(operator_id=p.id, weight=10) for p in people]))
    return source.id, [person.id for person in people]


def _image(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in row.items() if value is not None}


def _moment(day: float) -> datetime:
    return datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=UTC) + timedelta(days=day)


def appeal_records(count: int, source_id: str, people: list[str], seed: int = 7) -> list[dict[str, Any]]:
    """The appeals stream of `count` appeals spread over the year, time-ordered, with sequence numbers."""
    rng = random.Random(seed)
    changes: list[tuple[datetime, dict[str, Any] | None, dict[str, Any]]] = []
    for number in range(count):
        created = _moment(DAYS * (number + rng.random()) / count)
        waits = rng.random() < 0.2
        assigned = created + timedelta(seconds=rng.randint(5, 900) if waits else 0)
        accepted = assigned + timedelta(seconds=rng.randint(5, 1800))
        closed = accepted + timedelta(seconds=rng.randint(60, 7200))
        row: dict[str, Any] = {
            "appeal_id": f"ap_bench{number:08d}",
            "lead_id": f"ld_bench{number:08d}",
            "source_id": source_id,
            "created_at": iso(created),
            "reassign_count": 0,
        }
        history = [{"type": "created", "at": iso(created)}]
        if waits:
            first = {**row, "status": "waiting", "events": [json.dumps(e) for e in history]}
            changes.append((created, None, first))
        operator = rng.choice(people)
        history.append({"type": "assigned", "at": iso(assigned)})
        active = {
            **row,
            "status": "active",
            "operator_id": operator,
            "assigned_at": iso(assigned),
            "events": [json.dumps(e) for e in history],
        }
        changes.append((assigned, first if waits else None, active))
        history.append({"type": "accepted", "at": iso(accepted)})
        taken = {**active, "accepted_at": iso(accepted), "events": [json.dumps(e) for e in history]}
        changes.append((accepted, active, taken))
        history.append({"type": "closed", "at": iso(closed)})
        done = {**taken, "status": "closed", "closed_at": iso(closed), "events": [json.dumps(e) for e in history]}
        changes.append((closed, taken, done))
    changes.sort(key=lambda change: change[0])
    records = []
    for sequence, (moment, old, new) in enumerate(changes, start=1):
        change: dict[str, Any] = {
            "ApproximateCreationDateTime": moment.timestamp(),
            "Keys": {"appeal_id": {"S": new["appeal_id"]}},
            "NewImage": _image(new),
            "SequenceNumber": f"{sequence:021d}",
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if old is not None:
            change["OldImage"] = _image(old)
        records.append({"eventID": f"e{sequence}", "eventName": "MODIFY" if old else "INSERT", "dynamodb": change})
    return records


def feed(records: list[dict[str, Any]]) -> list[int]:
    """Requests per stream batch of BATCH records."""
    per_batch = []
    for start in range(0, len(records), BATCH):
        with count_requests() as counts:
            apply_appeal_analytics(records[start : start + BATCH], shard_id="shardId-bench-1")
        per_batch.append(sum(counts.values()))
    return per_batch


def _counters(rng: random.Random, appeals: int) -> dict[str, Any]:
    """A day row for `appeals` appeals: counters and plausible histograms."""
    accepted, closed = appeals * 9 // 10, appeals * 8 // 10
    row: dict[str, Any] = {"assigned": {"N": str(appeals)}, "accepted": {"N": str(accepted)}}
    row |= {"closed": {"N": str(closed)}, "sla_lapses": {"N": str(appeals // 20)}}
    row |= {"reassignments": {"N": str(appeals // 20)}, "transferred": {"N": str(appeals // 8)}}
    for letter, total, low, high in (("a", accepted, 8, 20), ("c", closed, 16, 28)):
        buckets = Counter(rng.randint(low, high) for _ in range(min(total, 200)))
        scale = total / max(1, sum(buckets.values()))
        row |= {f"{letter}{b}": {"N": str(max(1, round(n * scale)))} for b, n in buckets.items()}
    return row


def write_big(appeals: int, source_id: str, people: list[str], seed: int = 11) -> int:
    """The rows `appeals` appeals over the year would leave, written directly (BatchWriteItem)."""
    rng = random.Random(seed)
    client, table = StatsRow._get_connection().connection.client, StatsRow.Meta.table_name
    per_row = max(1, appeals // (DAYS * len(people)))
    items: list[dict[str, Any]] = []
    for offset in range(DAYS):
        day = (FIRST_DAY + timedelta(days=offset)).isoformat()
        for person in people:
            counters = _counters(rng, per_row)
            for scope in (source_id, ALL_SOURCES):
                items.append({"pk": {"S": ops_key(scope)}, "sk": {"S": f"{day}#{person}"}, **counters})
        for hour in range(24):
            arrivals = appeals // (DAYS * 24)
            waits = Counter(rng.randint(0, 15) for _ in range(min(arrivals, 50)))
            items.append(
                {
                    "pk": {"S": hours_key(source_id)},
                    "sk": {"S": f"{day}T{hour:02d}:00:00Z"},
                    "arrivals": {"N": str(arrivals)},
                    "assigned": {"N": str(arrivals)},
                    "waiting": {"N": "0"},
                    **{f"w{b}": {"N": str(n)} for b, n in waits.items()},
                }
            )
        # The day's net change in waiting, beside its hours (what the feed keeps for the timeline).
        items.append({"pk": {"S": hours_key(source_id)}, "sk": {"S": day_sk(day)}, "waiting": {"N": "0"}})
    items.append({"pk": {"S": hours_key(source_id)}, "sk": {"S": WAITING_TOTAL}, "waiting": {"N": "3"}})
    for start in range(0, len(items), 25):
        request: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return len(items)


def queries(source_id: str, someone: str) -> list[tuple[str, Any]]:
    def stats(first: date, source: str | None = None, viewer: Principal = ADMIN) -> Any:
        query = OperatorStatsQuery.model_validate({"from": first.isoformat(), "to": LAST_DAY.isoformat()})
        query.source_id = source
        return lambda: reports.operator_stats(query, viewer=viewer)

    def timeline(days: int, last: date = LAST_DAY) -> Any:
        first = last - timedelta(days=days - 1)
        query = TimelineQuery.model_validate({"from": first.isoformat(), "to": last.isoformat()})
        return lambda: reports.source_timeline(source_id, query)

    year = LAST_DAY - timedelta(days=DAYS - 1)
    return [
        ("operators, all sources, 30 days", stats(LAST_DAY - timedelta(days=29))),
        ("operators, all sources, 365 days", stats(year)),
        ("operators, one source, 365 days", stats(year, source_id)),
        ("own row (operator), 365 days", stats(year, viewer=Principal("operator", "bench-op", someone))),
        ("timeline, 7 days", timeline(7)),
        ("timeline, 7 days a year ago", timeline(7, FIRST_DAY + timedelta(days=6))),
        ("timeline, 365 days", timeline(DAYS)),
    ]


def measure(source_id: str, people: list[str]) -> list[tuple[str, int, int, float]]:
    rows = []
    for label, run in queries(source_id, people[0]):
        run()  # warm
        with count_requests() as requests, items_read() as items:
            started = time.perf_counter()
            run()
            elapsed = (time.perf_counter() - started) * 1000
        rows.append((label, sum(requests.values()), sum(items.values()), elapsed))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--appeals", type=int, default=10_000, help="appeals fed through the stream consumer")
    parser.add_argument("--big", type=int, default=1_000_000, help="appeals whose rows are written directly")
    args = parser.parse_args()
    logging.getLogger("leadcrm").setLevel(logging.WARNING)
    assert len(BUCKET_BOUNDS) + 1 > 28  # the histograms above use buckets up to 28

    results: dict[str, list[tuple[str, int, int, float]]] = {}
    with dynamodb() as engine:
        os.environ["TABLE_PREFIX"] = "bench-analytics-fed"
        create_tables()
        source_id, people = team(args.operators)
        records = appeal_records(args.appeals, source_id, people)
        print(f"feeding {len(records):,} stream records ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        per_batch = feed(records)
        feed_seconds = time.perf_counter() - started
        with count_requests() as again:
            feed(records[:BATCH])  # a redelivered batch: its marks refuse every row
        results[f"{args.appeals:,}"] = measure(source_id, people)

        os.environ["TABLE_PREFIX"] = "bench-analytics-big"
        create_tables()
        source_id, people = team(args.operators)
        written = write_big(args.big, source_id, people)
        results[f"{args.big:,}"] = measure(source_id, people)

    print(f"\nEngine: {engine}; one source, {args.operators} operators, {DAYS} days of history.\n")
    print(
        f"Stream side ({args.appeals:,} appeals = {len(records):,} records in {len(per_batch)} batches of {BATCH}): "
        f"requests per batch median {statistics.median(per_batch):.0f}, max {max(per_batch)}, "
        f"mean {statistics.mean(per_batch):.1f} ({statistics.mean(per_batch) / BATCH:.2f} per record); "
        f"fed in {feed_seconds:.0f} s. A redelivered batch: {sum(again.values())} requests, nothing added."
    )
    print(f"{args.big:,}-appeal history: {written:,} rows written directly.\n")
    sizes = list(results)
    print("| query | " + " | ".join(f"{s} appeals: requests / items read / ms" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for index, (label, *_) in enumerate(results[sizes[0]]):
        cells = [f"{results[s][index][1]} / {results[s][index][2]:,} / {results[s][index][3]:.0f}" for s in sizes]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
