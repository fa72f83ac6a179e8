"""Feeds a DynamoDB stream to a handler the way Lambda's event source mapping does (`make run`, tests).

DynamoDB Local has streams (DescribeTable gives `LatestStreamArn`; the
`dynamodbstreams` client on the same endpoint reads them). This poller:

- reads every shard in order with its own iterator: shards there at start
  from `TRIM_HORIZON` or `LATEST` (a closed shard is skipped under LATEST);
  shards found later (a rollover's children) from `TRIM_HORIZON`, and a child
  only once its parent is drained, so a key's changes stay in order;
- invokes the handler with batches of up to `batch_size` records in Lambda's
  event shape, with a tumbling window's `shardId` and `eventSourceARN` at the top:
  `{"shardId", "eventSourceARN", "Records": [{eventID, eventName, eventVersion, eventSource,
  awsRegion, dynamodb: {ApproximateCreationDateTime (epoch seconds), Keys,
  NewImage, OldImage, SequenceNumber, SizeBytes, StreamViewType},
  eventSourceARN}]}`, JSON as Lambda sends it (binary attributes base64);
- on a handler error (it raised, or answered `batchItemFailures` as with
  `ReportBatchItemFailures`: what precedes the first failed record counts as
  done) bisects the batch and retries each half in order, as
  `BisectBatchOnFunctionError` does; a batch that can no longer be split is
  retried up to `max_retries` times (`MaximumRetryAttempts`), then handed to
  `on_failure` (the on-failure destination, a DLQ) and the shard moves on;
- polls every `poll_interval` seconds when idle (250 ms, so a change reaches
  the handler within a second), at once while records keep coming;
- survives shard rollover (closed shards end, their children are found) and
  expired iterators (resumed after the last sequence number it handed over).

In normal operation each record is delivered exactly once. Retries after an
error deliver again the records of the failed batch (as Lambda does); the
handler is idempotent by the records' event ids.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    import threading

__all__ = [
    "FailedBatch",
    "PollOutcome",
    "StartingPosition",
    "StreamPoller",
    "lambda_record",
]

log = logging.getLogger("leadcrm.stream_poller")

Invoke = Callable[[dict[str, Any]], Any]
StartingPosition = Literal["TRIM_HORIZON", "LATEST"]


@dataclass(frozen=True)
class FailedBatch:
    """Records the handler could not take after bisecting and retrying: what goes to the DLQ."""

    records: tuple[dict[str, Any], ...]
    shard_id: str
    stream_arn: str
    attempts: int
    error: str

    def destination_payload(self) -> dict[str, Any]:
        """The invocation record Lambda sends an on-failure destination (metadata, not the records)."""
        arrivals = [record["dynamodb"].get("ApproximateCreationDateTime") for record in self.records]
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": "local",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": self.records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": self.records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(arrivals[0]),
                "approximateArrivalOfLastRecord": _iso(arrivals[-1]),
                "batchSize": len(self.records),
                "streamArn": self.stream_arn,
            },
        }


@dataclass(frozen=True)
class PollOutcome:
    received: int = 0  # records read from the stream
    delivered: int = 0  # records the handler took (each counted once)
    failed: int = 0  # records handed to on_failure
    invocations: int = 0

    def __add__(self, other: PollOutcome) -> PollOutcome:
        return PollOutcome(
            self.received + other.received,
            self.delivered + other.delivered,
            self.failed + other.failed,
            self.invocations + other.invocations,
        )


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    start: str  # iterator type when there is no position yet
    iterator: str | None = None
    last_sequence: str | None = None
    finished: bool = False


@dataclass
class _Tally:
    delivered: int = 0
    failed: int = 0
    invocations: int = 0


@dataclass
class _Failure:
    first_failed: int  # index of the first record not taken
    error: str


def _iso(value: Any) -> str | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
    return None


def _jsonable(value: Any) -> Any:
    """AttributeValues as Lambda's JSON carries them: bytes as base64 text."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(item) for item in value]
    return value


def lambda_record(raw: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda hands a function."""
    change = dict(raw["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    record = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": raw.get("eventSource", "aws:dynamodb"),
        "awsRegion": region,
        "dynamodb": _jsonable(change),
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in raw:
        record["userIdentity"] = {
            "type": raw["userIdentity"].get("Type"),
            "principalId": raw["userIdentity"].get("PrincipalId"),
        }
    return record


def _log_failure(failed: FailedBatch) -> None:
    # Metadata only: records carry personal data.
    log.warning(
        "stream records to the on-failure destination",
        extra={
            "shard_id": failed.shard_id,
            "records": len(failed.records),
            "first_sequence_number": failed.records[0]["dynamodb"]["SequenceNumber"],
            "attempts": failed.attempts,
        },
    )


class StreamPoller:
    """One table's stream fed to `invoke`; `poll_once()` for a step, `run(stop)` for a thread."""

    def __init__(
        self,
        dynamodb: Any,
        streams: Any,
        table_name: str,
        invoke: Invoke,
        *,
        on_failure: Callable[[FailedBatch], None] | None = None,
        batch_size: int = 100,
        starting_position: StartingPosition = "TRIM_HORIZON",
        max_retries: int = 2,
        bisect_on_error: bool = True,
        poll_interval: float = 0.25,
        discover_interval: float = 5.0,
        region: str = "us-east-1",
    ) -> None:
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be 1-1000 (GetRecords returns at most 1000)")
        if starting_position not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError("starting_position must be TRIM_HORIZON or LATEST")
        self.streams = streams
        self.invoke = invoke
        self.on_failure = on_failure or _log_failure
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.bisect_on_error = bisect_on_error
        self.poll_interval = poll_interval
        self.discover_interval = discover_interval
        self.region = region
        table = dynamodb.describe_table(TableName=table_name)["Table"]
        stream_arn = table.get("LatestStreamArn")
        if not stream_arn or not table.get("StreamSpecification", {}).get("StreamEnabled", True):
            raise ValueError(f"table {table_name!r} has no stream; create it with a StreamSpecification")
        self.stream_arn: str = stream_arn
        self._starting_position = starting_position
        self._shards: dict[str, _Shard] = {}
        self._discovered_at = 0.0
        # Iterators for the shards there now are taken now: LATEST means "from construction on".
        self._discover(initial=True)

    @classmethod
    def for_endpoint(
        cls, endpoint_url: str, table_name: str, invoke: Invoke, *, region: str = "us-east-1", **options: Any
    ) -> StreamPoller:
        """A poller on a local endpoint (DynamoDB Local), with both clients built for it."""
        import boto3
        from botocore.config import Config

        settings: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
            "config": Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"}),
        }
        dynamodb = boto3.client("dynamodb", **settings)
        streams = boto3.client("dynamodbstreams", **settings)
        return cls(dynamodb, streams, table_name, invoke, region=region, **options)

    # -- polling --------------------------------------------------------------------------------

    def poll_once(self) -> PollOutcome:
        """One GetRecords on every readable shard, each batch settled before the next read."""
        if time.monotonic() - self._discovered_at >= self.discover_interval:
            self._discover(initial=False)
        outcome = PollOutcome()
        for shard in self._readable():
            outcome += self._read(shard)
        return outcome

    def drain(self, *, max_polls: int = 1000) -> PollOutcome:
        """Polls until a poll finds nothing new (for tests and one-off runs)."""
        total = PollOutcome()
        for _ in range(max_polls):
            outcome = self.poll_once()
            total += outcome
            if outcome.received == 0:
                break
        return total

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                outcome = self.poll_once()
            except Exception:  # a hiccup of the endpoint or the DLQ: the batch is read again, never skipped
                log.exception("stream polling failed; retrying")
                stop.wait(1.0)
                continue
            if outcome.received == 0:
                stop.wait(self.poll_interval)

    @property
    def shard_ids(self) -> list[str]:
        return list(self._shards)

    # -- shards ---------------------------------------------------------------------------------

    def _discover(self, *, initial: bool) -> None:
        self._discovered_at = time.monotonic()
        for described in self._describe_shards():
            shard_id = described["ShardId"]
            if shard_id in self._shards:
                continue
            closed = "EndingSequenceNumber" in described.get("SequenceNumberRange", {})
            start = self._starting_position if initial else "TRIM_HORIZON"
            shard = _Shard(shard_id, described.get("ParentShardId"), start)
            if initial and closed and start == "LATEST":
                shard.finished = True  # history we were told to skip
            self._shards[shard_id] = shard
            if initial and not shard.finished:
                self._open(shard)

    def _describe_shards(self) -> Iterable[dict[str, Any]]:
        params: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self.streams.describe_stream(**params)["StreamDescription"]
            yield from description.get("Shards", [])
            last = description.get("LastEvaluatedShardId")
            if not last:
                return
            params["ExclusiveStartShardId"] = last

    def _readable(self) -> list[_Shard]:
        # A child waits for its parent (when we know the parent) to be drained.
        return [
            shard
            for shard in self._shards.values()
            if not shard.finished
            and (
                shard.parent_id is None or shard.parent_id not in self._shards or self._shards[shard.parent_id].finished
            )
        ]

    def _open(self, shard: _Shard) -> None:
        params: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if shard.last_sequence is not None:
            params |= {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.last_sequence}
        else:
            params["ShardIteratorType"] = shard.start
        try:
            shard.iterator = self.streams.get_shard_iterator(**params)["ShardIterator"]
        except ClientError as error:
            if _code(error) != "ResourceNotFoundException":
                raise
            shard.finished = True  # trimmed away or the stream is gone

    def _read(self, shard: _Shard) -> PollOutcome:
        if shard.iterator is None:
            self._open(shard)
            if shard.iterator is None:
                return PollOutcome()
        try:
            answer = self.streams.get_records(ShardIterator=shard.iterator, Limit=self.batch_size)
        except ClientError as error:
            code = _code(error)
            if code == "ExpiredIteratorException":
                shard.iterator = None  # resume after the last sequence number handed over
                return PollOutcome()
            if code == "TrimmedDataAccessException":
                log.warning("stream records were trimmed before they were read", extra={"shard_id": shard.shard_id})
                shard.iterator, shard.last_sequence, shard.start = None, None, "TRIM_HORIZON"
                return PollOutcome()
            if code == "ResourceNotFoundException":
                shard.finished = True
                return PollOutcome()
            raise
        raw = answer.get("Records", [])
        outcome = PollOutcome(received=len(raw))
        if raw:
            records = [lambda_record(record, self.stream_arn, self.region) for record in raw]
            tally = _Tally()
            self._settle(records, shard, tally, retries=0)
            outcome = PollOutcome(len(raw), tally.delivered, tally.failed, tally.invocations)
            shard.last_sequence = raw[-1]["dynamodb"]["SequenceNumber"]
        next_iterator = answer.get("NextShardIterator")
        shard.iterator = next_iterator
        if next_iterator is None:
            # Closed and drained: its children (if any) may be read now.
            shard.finished = True
            self._discover(initial=False)
        return outcome

    # -- delivering -----------------------------------------------------------------------------

    def _settle(self, records: list[dict[str, Any]], shard: _Shard, tally: _Tally, *, retries: int) -> None:
        """Delivers `records` in order: whole, else bisected, else retried, else to on_failure."""
        while True:
            failure = self._attempt(records, shard, tally)
            if failure is None:
                tally.delivered += len(records)
                return
            if failure.first_failed > 0:
                # A partial batch response: what precedes the first failure is done.
                tally.delivered += failure.first_failed
                records = records[failure.first_failed :]
            if self.bisect_on_error and len(records) > 1:
                middle = len(records) // 2
                self._settle(records[:middle], shard, tally, retries=0)
                self._settle(records[middle:], shard, tally, retries=0)
                return
            retries += 1
            if retries > self.max_retries:
                failed = FailedBatch(tuple(records), shard.shard_id, self.stream_arn, retries, failure.error)
                tally.failed += len(records)
                self.on_failure(failed)
                return

    def _attempt(self, records: list[dict[str, Any]], shard: _Shard, tally: _Tally) -> _Failure | None:
        # Each invocation gets its own JSON copy, as Lambda's payload would be. The batch's
        # shard is named at the top, as Lambda does for an event source with a tumbling window
        # (sequence numbers are ordered only within a shard: consumers keep a mark per shard).
        event = json.loads(
            json.dumps({"Records": records, "shardId": shard.shard_id, "eventSourceARN": self.stream_arn})
        )
        tally.invocations += 1
        try:
            response = self.invoke(event)
        except Exception as error:  # the handler's failure is the function error Lambda would see
            log.warning(
                "stream handler raised %s on %d records",
                type(error).__name__,
                len(records),
                extra={"first_sequence_number": records[0]["dynamodb"]["SequenceNumber"]},
            )
            return _Failure(0, f"{type(error).__name__}: {error}"[:1000])
        return _reported_failure(records, response)


def _reported_failure(records: list[dict[str, Any]], response: Any) -> _Failure | None:
    """ReportBatchItemFailures: `{"batchItemFailures": [{"itemIdentifier": <SequenceNumber>}]}`."""
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not failures:
        return None
    positions = {record["dynamodb"]["SequenceNumber"]: index for index, record in enumerate(records)}
    indexes = []
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        # An identifier that names no record of the batch fails the whole batch, as in Lambda.
        indexes.append(positions.get(identifier, 0) if isinstance(identifier, str) else 0)
    return _Failure(min(indexes), "batchItemFailures reported")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
