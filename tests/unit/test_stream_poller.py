"""The stream poller's shard handling and error policy, on an in-memory stream with the client's interface.

DynamoDB Local does not roll shards over on demand, so closed shards, children,
paging and expired iterators are played here; tests/integration runs the
poller on DynamoDB Local's real stream.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from scripts.local.stream_poller import FailedBatch, StreamPoller

if TYPE_CHECKING:
    from collections.abc import Callable

ARN = "arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/2026-01-01T00:00:00.000"


class FakeStreams:
    """Shards with records; describe_stream pages two shards at a time, as a long stream would."""

    def __init__(self) -> None:
        self.shards: dict[str, dict[str, Any]] = {}
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.closed: set[str] = set()
        self.expire_next_read = 0
        self.reads: list[str] = []
        self._sequence = itertools.count(1)

    def add_shard(self, shard_id: str, parent: str | None = None) -> None:
        self.shards[shard_id] = {"ShardId": shard_id} | ({"ParentShardId": parent} if parent else {})
        self.records[shard_id] = []

    def put(self, shard_id: str, *keys: str, binary: bytes | None = None) -> None:
        for key in keys:
            sequence = f"{next(self._sequence):021d}"
            image: dict[str, Any] = {"pk": {"S": key}}
            if binary is not None:
                image["blob"] = {"B": binary}
            self.records[shard_id].append(
                {
                    "eventID": f"ev-{key}",
                    "eventName": "INSERT",
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "ddblocal",
                    "dynamodb": {
                        "ApproximateCreationDateTime": datetime(2026, 1, 1, tzinfo=UTC),
                        "Keys": {"pk": {"S": key}},
                        "NewImage": image,
                        "SequenceNumber": sequence,
                        "SizeBytes": 10,
                        "StreamViewType": "NEW_AND_OLD_IMAGES",
                    },
                }
            )

    def close(self, shard_id: str) -> None:
        self.closed.add(shard_id)

    # -- the dynamodbstreams client's interface ---------------------------------------------------

    def describe_stream(self, StreamArn: str, ExclusiveStartShardId: str | None = None) -> dict[str, Any]:
        ids = list(self.shards)
        start = ids.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId else 0
        page = ids[start : start + 2]
        shards = []
        for shard_id in page:
            described = dict(self.shards[shard_id])
            described["SequenceNumberRange"] = {"StartingSequenceNumber": "0"} | (
                {"EndingSequenceNumber": "9"} if shard_id in self.closed else {}
            )
            shards.append(described)
        description: dict[str, Any] = {"StreamArn": StreamArn, "Shards": shards}
        if start + 2 < len(ids):
            description["LastEvaluatedShardId"] = page[-1]
        return {"StreamDescription": description}

    def get_shard_iterator(
        self, StreamArn: str, ShardId: str, ShardIteratorType: str, SequenceNumber: str | None = None
    ) -> dict[str, Any]:
        records = self.records[ShardId]
        if ShardIteratorType == "TRIM_HORIZON":
            position = 0
        elif ShardIteratorType == "LATEST":
            position = len(records)
        elif ShardIteratorType == "AFTER_SEQUENCE_NUMBER":
            position = [r["dynamodb"]["SequenceNumber"] for r in records].index(SequenceNumber) + 1
        else:
            raise AssertionError(ShardIteratorType)
        return {"ShardIterator": f"{ShardId}|{position}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard_id, raw_position = ShardIterator.split("|")
        self.reads.append(shard_id)
        if self.expire_next_read:
            self.expire_next_read -= 1
            raise ClientError({"Error": {"Code": "ExpiredIteratorException", "Message": "expired"}}, "GetRecords")
        position = int(raw_position)
        batch = self.records[shard_id][position : position + Limit]
        end = position + len(batch)
        answer: dict[str, Any] = {"Records": batch}
        if not (shard_id in self.closed and end == len(self.records[shard_id])):
            answer["NextShardIterator"] = f"{shard_id}|{end}"
        return answer


class FakeTable:
    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {
            "Table": {"TableName": TableName, "LatestStreamArn": ARN, "StreamSpecification": {"StreamEnabled": True}}
        }


class Handler:
    """Records what it took; raises for records whose key is in `poison` (and for `flaky` ones, once)."""

    def __init__(self, poison: set[str] | None = None, flaky: set[str] | None = None) -> None:
        self.poison = poison or set()
        self.flaky = set(flaky or ())
        self.events: list[list[str]] = []
        self.taken: list[str] = []

    def __call__(self, event: dict[str, Any]) -> Any:
        keys = [record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"]]
        self.events.append(keys)
        if self.poison & set(keys):
            raise ValueError("poison")
        if self.flaky & set(keys):
            self.flaky -= set(keys)
            raise ConnectionError("transient")
        self.taken += keys
        return None


def poller(
    streams: FakeStreams, handler: Callable[[dict[str, Any]], Any], **options: Any
) -> tuple[StreamPoller, list[FailedBatch]]:
    dead: list[FailedBatch] = []
    built = StreamPoller(FakeTable(), streams, "t", handler, on_failure=dead.append, discover_interval=3600, **options)
    return built, dead


# --- shards ------------------------------------------------------------------------------------


def test_GIVEN_a_child_listed_before_its_closed_parent_WHEN_drained_THEN_the_parent_is_read_to_its_end_first() -> None:
    streams = FakeStreams()
    streams.add_shard("child", parent="parent")
    streams.add_shard("parent")
    streams.put("parent", "p1", "p2", "p3")
    streams.put("child", "c1", "c2")
    streams.close("parent")
    handler = Handler()
    feed, _ = poller(streams, handler, batch_size=2)

    feed.drain()

    assert handler.taken == ["p1", "p2", "p3", "c1", "c2"]
    assert streams.reads.index("child") > max(i for i, shard in enumerate(streams.reads) if shard == "parent")


def test_GIVEN_latest_at_start_WHEN_drained_THEN_history_and_closed_shards_are_skipped_and_new_records_arrive() -> None:
    streams = FakeStreams()
    streams.add_shard("old")
    streams.put("old", "history")
    streams.close("old")
    streams.add_shard("open", parent="old")
    streams.put("open", "before")
    handler = Handler()
    feed, _ = poller(streams, handler, starting_position="LATEST")

    streams.put("open", "after1", "after2")
    feed.drain()

    assert handler.taken == ["after1", "after2"]
    assert "old" not in streams.reads


def test_GIVEN_a_shard_that_closes_and_a_child_appears_later_WHEN_polled_THEN_the_child_is_read_from_its_start() -> (
    None
):
    streams = FakeStreams()
    streams.add_shard("s1")
    streams.put("s1", "a", "b")
    handler = Handler()
    feed, _ = poller(streams, handler, starting_position="LATEST")
    streams.put("s1", "c")
    feed.poll_once()

    streams.put("s1", "d")
    streams.close("s1")
    streams.add_shard("s2", parent="s1")
    streams.put("s2", "e", "f")
    feed.drain()

    assert handler.taken == ["c", "d", "e", "f"]
    assert feed.shard_ids == ["s1", "s2"]


def test_GIVEN_more_shards_than_a_page_WHEN_the_poller_starts_THEN_every_shard_is_found() -> None:
    streams = FakeStreams()
    for index in range(5):
        streams.add_shard(f"s{index}")
        streams.put(f"s{index}", f"k{index}")
    handler = Handler()
    feed, _ = poller(streams, handler)

    feed.drain()

    assert feed.shard_ids == [f"s{index}" for index in range(5)]
    assert sorted(handler.taken) == [f"k{index}" for index in range(5)]


def test_GIVEN_an_iterator_that_expired_WHEN_polled_THEN_reading_resumes_after_the_last_record_handed_over() -> None:
    streams = FakeStreams()
    streams.add_shard("s1")
    streams.put("s1", "a", "b")
    handler = Handler()
    feed, _ = poller(streams, handler, batch_size=10)
    feed.poll_once()
    streams.put("s1", "c")
    streams.expire_next_read = 1

    expired = feed.poll_once()
    feed.drain()

    assert expired.received == 0
    assert handler.taken == ["a", "b", "c"]


# --- the event shape ---------------------------------------------------------------------------


def test_GIVEN_a_record_with_binary_and_a_datetime_WHEN_delivered_THEN_it_has_lambdas_json_shape() -> None:
    streams = FakeStreams()
    streams.add_shard("s1")
    streams.put("s1", "a", binary=b"\x00\xff")
    events: list[dict[str, Any]] = []
    feed, _ = poller(streams, events.append, region="eu-west-1")

    feed.drain()

    (record,) = events[0]["Records"]
    assert record["eventSourceARN"] == ARN and record["awsRegion"] == "eu-west-1"
    assert (record["eventID"], record["eventName"], record["eventSource"]) == ("ev-a", "INSERT", "aws:dynamodb")
    assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AP8="}
    assert record["dynamodb"]["ApproximateCreationDateTime"] == datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


# --- errors ------------------------------------------------------------------------------------


def test_GIVEN_a_poison_record_in_a_batch_of_8_WHEN_polled_THEN_bisection_isolates_it_and_only_it_goes_to_the_dlq() -> (
    None
):
    streams = FakeStreams()
    streams.add_shard("s1")
    keys = [f"k{index}" for index in range(8)]
    streams.put("s1", *keys)
    handler = Handler(poison={"k5"})
    feed, dead = poller(streams, handler, batch_size=8, max_retries=2)

    outcome = feed.poll_once()

    assert [[r["dynamodb"]["Keys"]["pk"]["S"] for r in failed.records] for failed in dead] == [["k5"]]
    assert handler.taken == [k for k in keys if k != "k5"]
    assert handler.events[:5] == [keys, keys[:4], keys[4:], keys[4:6], ["k4"]]
    assert handler.events[5:8] == [["k5"]] * 3  # the first try and two retries
    assert handler.events[8:] == [keys[6:]]
    assert (outcome.received, outcome.delivered, outcome.failed, outcome.invocations) == (8, 7, 1, 9)
    info = dead[0].destination_payload()
    assert info["DDBStreamBatchInfo"]["batchSize"] == 1 and info["DDBStreamBatchInfo"]["shardId"] == "s1"
    assert info["DDBStreamBatchInfo"]["startSequenceNumber"] == info["DDBStreamBatchInfo"]["endSequenceNumber"]
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["requestContext"]["approximateInvokeCount"] == 3 and dead[0].error == "ValueError: poison"


def test_GIVEN_a_transient_failure_WHEN_polled_THEN_the_retry_delivers_and_nothing_reaches_the_dlq() -> None:
    streams = FakeStreams()
    streams.add_shard("s1")
    streams.put("s1", "a")
    handler = Handler(flaky={"a"})
    feed, dead = poller(streams, handler)

    feed.drain()

    assert (handler.taken, dead) == (["a"], [])


def test_GIVEN_bisect_off_WHEN_a_batch_keeps_failing_THEN_the_whole_batch_goes_to_the_dlq_after_the_retries() -> None:
    streams = FakeStreams()
    streams.add_shard("s1")
    streams.put("s1", "a", "b", "c")
    handler = Handler(poison={"b"})
    feed, dead = poller(streams, handler, bisect_on_error=False, max_retries=1)

    feed.drain()

    assert handler.events == [["a", "b", "c"]] * 2
    assert [len(failed.records) for failed in dead] == [3]


def test_GIVEN_a_partial_batch_response_WHEN_polled_THEN_records_before_the_failure_are_not_sent_again() -> None:
    streams = FakeStreams()
    streams.add_shard("s1")
    streams.put("s1", "a", "b", "c", "d")
    seen: list[list[str]] = []

    def handler(event: dict[str, Any]) -> Any:
        keys = [record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"]]
        seen.append(keys)
        if "c" in keys and len(seen) == 1:
            sequence = event["Records"][keys.index("c")]["dynamodb"]["SequenceNumber"]
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
        return {"batchItemFailures": []}

    feed, dead = poller(streams, handler)

    outcome = feed.drain()

    assert seen == [["a", "b", "c", "d"], ["c"], ["d"]]
    assert dead == [] and outcome.delivered == 4


def test_GIVEN_an_unknown_item_identifier_WHEN_reported_THEN_the_whole_batch_counts_as_failed() -> None:
    streams = FakeStreams()
    streams.add_shard("s1")
    streams.put("s1", "a", "b")
    seen: list[int] = []

    def handler(event: dict[str, Any]) -> Any:
        seen.append(len(event["Records"]))
        return {"batchItemFailures": [{"itemIdentifier": "not-a-sequence"}]}

    feed, dead = poller(streams, handler, max_retries=0)

    feed.drain()

    assert seen == [2, 1, 1] and [len(f.records) for f in dead] == [1, 1]


def test_GIVEN_a_dlq_that_fails_WHEN_polled_THEN_the_batch_is_read_again_next_time_never_skipped() -> None:
    streams = FakeStreams()
    streams.add_shard("s1")
    streams.put("s1", "bad")
    handler = Handler(poison={"bad"})
    calls: list[FailedBatch] = []

    def broken_dlq(failed: FailedBatch) -> None:
        calls.append(failed)
        if len(calls) == 1:
            raise ConnectionError("DLQ unreachable")

    feed = StreamPoller(FakeTable(), streams, "t", handler, on_failure=broken_dlq, max_retries=0)

    with pytest.raises(ConnectionError):
        feed.poll_once()
    feed.poll_once()

    assert len(calls) == 2 and all(c.records[0]["eventID"] == "ev-bad" for c in calls)


def test_GIVEN_a_table_without_a_stream_WHEN_a_poller_is_made_THEN_refused() -> None:
    class NoStream:
        def describe_table(self, TableName: str) -> dict[str, Any]:
            return {"Table": {"TableName": TableName}}

    with pytest.raises(ValueError, match="has no stream"):
        StreamPoller(NoStream(), FakeStreams(), "t", Handler())
