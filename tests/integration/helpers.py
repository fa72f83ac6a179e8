"""Shared tools of the DynamoDB Local tier: racing threads, a full audit of the
counters and the operators' change history (a DynamoDB stream). Transaction
faults are injected through botocore event hooks (`scripts.local.faults`, which
the benchmarks use too), never by patching our code."""

from __future__ import annotations

import itertools
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from chalicelib.core.config import current_settings
from chalicelib.directory import operators, sources
from chalicelib.directory.aggregates import apply_appeal_records
from chalicelib.directory.weights import replace_weights
from chalicelib.models import Appeal, Lead, Operator, Source, Weight, create_tables, dynamodb_clients
from chalicelib.models.appeals import ACTIVE, CLOSED, WAITING
from chalicelib.schemas.appeals import AppealCreate
from chalicelib.schemas.operators import OperatorCreate, OperatorOut
from chalicelib.schemas.sources import SourceCreate, SourceOut, Strategy, WeightIn, WeightSet
from scripts.local.stream_poller import StreamPoller

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

T = TypeVar("T")

_ids = itertools.count(1)


# --- setup ---------------------------------------------------------------------


def warm_up() -> None:
    """Builds every botocore client the services use, on this thread.

    PynamoDB creates a model's client lazily and caches one per model class;
    threads that race to create it each build their own (slow, and wasteful),
    so every race starts only after this.
    """
    list(dynamodb_clients())  # each access builds (then caches) that model's client


def new_operator(name: str = "Operator", *, max_load: int = 5, is_active: bool = True) -> OperatorOut:
    return operators.create_operator(OperatorCreate(name=name, max_load=max_load, is_active=is_active))


def new_source(weights: dict[str, int], strategy: Strategy = Strategy.WEIGHTED) -> SourceOut:
    source = sources.create_source(SourceCreate(name=f"Source {next(_ids)}", strategy=strategy))
    replace_weights(
        source.id, WeightSet([WeightIn(operator_id=operator_id, weight=w) for operator_id, w in weights.items()])
    )
    return source


def appeal_for(source_id: str, *, external_id: str | None = None, message_id: str | None = None) -> AppealCreate:
    return AppealCreate(
        lead_external_id=external_id or f"it:{next(_ids)}",
        source_id=source_id,
        message="Hello, how much is it?",
        message_id=message_id,
    )


# --- racing threads ---------------------------------------------------------------


def race(threads: int, work: Callable[[int], T], *, timeout: float = 300.0) -> list[T]:
    """Runs `work(0..threads-1)` on as many threads, released together by a barrier.

    An exception in any thread is re-raised here (the barrier times out rather
    than hanging the others forever). `timeout` only tells a hang from a slow
    run: the busiest race takes ~11 s through the conflict proxy on an idle
    2-CPU machine and went past 60 s on one loaded with parallel suites, which
    failed a run whose counters were never wrong. Speed is measured in bench/.
    """
    barrier = threading.Barrier(threads, timeout=timeout)

    def run(index: int) -> T:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(run, index) for index in range(threads)]
        return [future.result(timeout=timeout) for future in futures]


# --- audit: every counter against the rows it counts ------------------------------


@dataclass
class Snapshot:
    """Every row of every table: a consistent scan (the tables hold one test's or one module's rows)."""

    operators: dict[str, Operator]
    sources: dict[str, Source]
    weights: dict[tuple[str, str], Weight]
    leads: dict[str, Lead]
    appeals: list[Appeal]

    def active_by_operator(self) -> Counter[str]:
        return Counter(a.operator_id for a in self.appeals if a.status == ACTIVE)

    def statuses(self) -> Counter[str]:
        return Counter(a.status for a in self.appeals)


def _aggregate(event: dict[str, Any]) -> None:
    apply_appeal_records(event["Records"], shard_id=event["shardId"])


def catch_up_aggregates() -> int:
    """Feeds the appeals stream to the source aggregates until it is drained (as the
    stream handler does on AWS, within about a second): the source counters are read
    after this. Each call replays the stream from its start, so every catch-up after
    the first also proves that the shard marks count no record twice, whatever the
    batches' boundaries. Returns the records handed over."""
    endpoint = current_settings().dynamodb_endpoint
    assert endpoint is not None, "the DynamoDB Local tier runs on an endpoint"
    poller = StreamPoller.for_endpoint(endpoint, Appeal.Meta.table_name, _aggregate, starting_position="TRIM_HORIZON")
    outcome = poller.drain()
    assert outcome.failed == 0, "the aggregates consumer failed a batch"
    return outcome.delivered


def snapshot() -> Snapshot:
    """Every row, the source aggregates first caught up on the appeals stream."""
    catch_up_aggregates()
    return Snapshot(
        operators={row.operator_id: row for row in Operator.scan(consistent_read=True)},
        sources={row.source_id: row for row in Source.scan(consistent_read=True)},
        weights={(row.source_id, row.operator_id): row for row in Weight.scan(consistent_read=True)},
        # Notes (and deals, models) share the leads table; only leads have an `ld_` key.
        leads={row.lead_id: row for row in Lead.scan(consistent_read=True) if row.lead_id.startswith("ld_")},
        # Open-appeal markers, lead memberships and follow-up aliases share the appeals table;
        # only appeals have a status.
        appeals=[row for row in Appeal.scan(consistent_read=True) if row.status is not None],
    )


def counter_problems(snap: Snapshot) -> list[str]:
    """Every way the stored counters disagree with the appeals they count.

    `assigned_total` is checked as "appeals ever assigned to this (source,
    operator)", which holds while an appeal keeps its first operator (so not
    in tests that reclaim appeals).
    """
    problems: list[str] = []
    active = snap.active_by_operator()
    for operator_id, row in snap.operators.items():
        if int(row.active_load) != active[operator_id]:
            problems.append(f"operator {row.name}: active_load {row.active_load} but {active[operator_id]} active")
        if int(row.active_load) < 0:
            problems.append(f"operator {row.name}: negative active_load {row.active_load}")
    pair_active = Counter((a.source_id, a.operator_id) for a in snap.appeals if a.status == ACTIVE)
    pair_assigned = Counter((a.source_id, a.operator_id) for a in snap.appeals if a.operator_id)
    for key in set(snap.weights) | set(pair_assigned):
        row = snap.weights.get(key)
        active_count = int(row.active_count) if row else 0
        assigned_total = int(row.assigned_total) if row else 0
        if active_count != pair_active[key]:
            problems.append(f"weight row {key}: active_count {active_count} but {pair_active[key]} active")
        if assigned_total != pair_assigned[key]:
            problems.append(f"weight row {key}: assigned_total {assigned_total} but {pair_assigned[key]} assigned")
    per_source = Counter(a.source_id for a in snap.appeals)
    waiting = Counter(a.source_id for a in snap.appeals if a.status == WAITING)
    for source_id, row in snap.sources.items():
        if int(row.appeals_total) != per_source[source_id]:
            problems.append(f"source {source_id}: appeals_total {row.appeals_total} but {per_source[source_id]}")
        if int(row.waiting_count) != waiting[source_id]:
            problems.append(f"source {source_id}: waiting_count {row.waiting_count} but {waiting[source_id]} waiting")
    per_lead = Counter(a.lead_id for a in snap.appeals)
    for lead_id, row in snap.leads.items():
        if int(row.appeals_count) != per_lead[lead_id]:
            problems.append(f"lead {row.external_id}: appeals_count {row.appeals_count} but {per_lead[lead_id]}")
    for lead_id in set(per_lead) - set(snap.leads):
        problems.append(f"appeals point at a missing lead {lead_id}")
    external = Counter(row.external_id for row in snap.leads.values())
    problems.extend(f"{n} leads for external id {ext!r}" for ext, n in external.items() if n > 1)
    for a in snap.appeals:
        shape_ok = {
            ACTIVE: a.operator_id is not None and a.closed_at is None and a.waiting_source_id is None,
            WAITING: a.operator_id is None and a.closed_at is None and a.waiting_source_id == a.source_id,
            CLOSED: a.closed_at is not None and a.waiting_source_id is None,
        }.get(a.status, False)
        if not shape_ok:
            problems.append(
                f"appeal {a.appeal_id}: status {a.status!r} with operator {a.operator_id}, "
                f"closed_at {a.closed_at}, waiting_source_id {a.waiting_source_id}"
            )
    return problems


# --- the operators' history: every change, from a DynamoDB stream -----------------

_deserialize = TypeDeserializer().deserialize


@dataclass(frozen=True)
class OperatorChange:
    sequence: int
    operator_id: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def load_delta(self) -> int:
        before = int(self.old["active_load"]) if self.old else 0
        after = int(self.new["active_load"]) if self.new else 0
        return after - before


def _streams_client() -> Any:
    settings = current_settings()
    return boto3.client("dynamodbstreams", endpoint_url=settings.dynamodb_endpoint, region_name=settings.region)


class OperatorHistory:
    """Records every write to the operators table (NEW_AND_OLD_IMAGES stream).

    With the image before each write, "was the limit kept when the load was
    claimed" is checked on the state the claim's condition actually saw, even
    while max_load moves up and down under it.
    """

    def __init__(self) -> None:
        client = Operator._get_connection().connection.client
        description = client.update_table(
            TableName=Operator.Meta.table_name,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        self.stream_arn: str = description["TableDescription"]["LatestStreamArn"]

    def changes(self) -> list[OperatorChange]:
        streams = _streams_client()
        shards: list[dict[str, Any]] = []
        start: dict[str, str] = {}
        while True:
            page = streams.describe_stream(StreamArn=self.stream_arn, **start)["StreamDescription"]
            shards.extend(page["Shards"])
            if not page.get("LastEvaluatedShardId"):
                break
            start = {"ExclusiveStartShardId": page["LastEvaluatedShardId"]}
        changes: list[OperatorChange] = []
        for shard in shards:
            iterator = streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            ).get("ShardIterator")
            while iterator:
                page = streams.get_records(ShardIterator=iterator, Limit=1000)
                for record in page["Records"]:
                    data = record["dynamodb"]
                    old, new = data.get("OldImage"), data.get("NewImage")
                    changes.append(
                        OperatorChange(
                            sequence=int(data["SequenceNumber"]),
                            operator_id=_deserialize(data["Keys"]["operator_id"]),
                            old={k: _deserialize(v) for k, v in old.items()} if old else None,
                            new={k: _deserialize(v) for k, v in new.items()} if new else None,
                        )
                    )
                # An open shard answers an empty page once it is drained.
                iterator = page.get("NextShardIterator") if page["Records"] else None
        changes.sort(key=lambda change: change.sequence)
        return changes


@dataclass
class HistoryReport:
    claims: int = 0
    releases: int = 0
    limit_changes: int = 0
    lowered_below_load: int = 0
    deactivated_with_load: int = 0
    # Presence moving away from available while the operator held appeals (a pause, a shift end).
    left_available_with_load: int = 0
    problems: list[str] = field(default_factory=list)


def check_history(changes: list[OperatorChange], final: dict[str, Operator]) -> HistoryReport:
    """Every claim (+1) started from `is_active AND active_load < max_load` as
    stored at that instant; the counter moved only by ±1 and never together
    with the settings; replaying the deltas gives the final counter."""
    report = HistoryReport()
    replayed: defaultdict[str, int] = defaultdict(int)
    for change in changes:
        delta = change.load_delta
        replayed[change.operator_id] += delta
        old, new = change.old, change.new
        if old is None or new is None:
            if new is not None and int(new["active_load"]) != 0:
                report.problems.append(f"operator {change.operator_id} created with load {new['active_load']}")
            continue
        settings_moved = old["max_load"] != new["max_load"] or old["is_active"] != new["is_active"]
        if delta == 1:
            report.claims += 1
            if not (old["is_active"] and int(old["active_load"]) < int(old["max_load"])):
                report.problems.append(
                    f"claim #{change.sequence} on {change.operator_id} from load {old['active_load']}, "
                    f"max_load {old['max_load']}, is_active {old['is_active']}"
                )
            if old.get("presence", "available") != "available":
                report.problems.append(f"claim #{change.sequence} on {change.operator_id} while {old['presence']}")
        elif delta == -1:
            report.releases += 1
        elif delta != 0:
            report.problems.append(f"change #{change.sequence} moved the load by {delta}")
        if delta and settings_moved:
            report.problems.append(f"change #{change.sequence} moved the load and the settings together")
        if int(new["active_load"]) < 0:
            report.problems.append(f"change #{change.sequence} left load {new['active_load']}")
        if old["max_load"] != new["max_load"]:
            report.limit_changes += 1
            if int(new["max_load"]) < int(new["active_load"]):
                report.lowered_below_load += 1
        if old["is_active"] and not new["is_active"] and int(new["active_load"]) > 0:
            report.deactivated_with_load += 1
        left = old.get("presence", "available") == "available" != new.get("presence", "available")
        if left and int(new["active_load"]) > 0:
            report.left_available_with_load += 1
    for operator_id, row in final.items():
        if replayed[operator_id] != int(row.active_load):
            report.problems.append(
                f"operator {operator_id}: history adds up to {replayed[operator_id]}, stored {row.active_load}"
            )
    return report


@contextmanager
def tables_on(endpoint: str, prefix: str) -> Iterator[str]:
    """Points the services at `endpoint` under a table prefix of their own and
    creates the tables; the environment is restored afterwards."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        env.setenv("AWS_ACCESS_KEY_ID", "local")
        env.setenv("AWS_SECRET_ACCESS_KEY", "local")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.delenv("AWS_REGION", raising=False)
        env.delenv("AWS_SESSION_TOKEN", raising=False)
        env.setenv("TABLE_PREFIX", prefix)
        create_tables()
        yield prefix
