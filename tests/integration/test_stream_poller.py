"""The stream poller on DynamoDB Local's real stream: Lambda's event shape, order, bisect-on-error, no doubles."""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from scripts.local.stream_poller import FailedBatch, StreamPoller

if TYPE_CHECKING:
    from collections.abc import Iterator

REGION = "us-east-1"


@pytest.fixture
def table(dynamodb_local: str) -> Iterator[tuple[Any, str]]:
    """A fresh table with a NEW_AND_OLD_IMAGES stream on the session's DynamoDB Local."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_local,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    name = f"stream-{uuid.uuid4().hex[:10]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    yield client, name
    client.delete_table(TableName=name)


class Handler:
    """Takes a batch whole or not at all (raising for a poisoned record), like a function would."""

    def __init__(self) -> None:
        self.taken: list[dict[str, Any]] = []
        self.invocations = 0
        self.arrived = threading.Condition()

    def __call__(self, event: dict[str, Any]) -> None:
        self.invocations += 1
        records = event["Records"]
        if any("poison" in (record["dynamodb"].get("NewImage") or {}) for record in records):
            raise ValueError("cannot handle this record")
        with self.arrived:
            self.taken += records
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float) -> None:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.taken) >= count, timeout)

    def keys(self) -> list[str]:
        return [record["dynamodb"]["Keys"]["pk"]["S"] for record in self.taken]


def feed(endpoint: str, name: str, handler: Handler, **options: Any) -> tuple[StreamPoller, list[FailedBatch]]:
    dead: list[FailedBatch] = []
    poller = StreamPoller.for_endpoint(endpoint, name, handler, region=REGION, on_failure=dead.append, **options)
    return poller, dead


def put(client: Any, name: str, key: str, **attributes: dict[str, Any]) -> None:
    client.put_item(TableName=name, Item={"pk": {"S": key}, **attributes})


def test_GIVEN_a_poller_at_latest_WHEN_items_are_written_THEN_one_poll_hands_them_over_in_order_in_lambdas_shape(
    dynamodb_local: str, table: tuple[Any, str]
) -> None:
    client, name = table
    put(client, name, "before-start")
    handler = Handler()
    poller, dead = feed(dynamodb_local, name, handler, starting_position="LATEST")

    put(client, name, "a", n={"N": "1"}, blob={"B": b"\x00\x01"})
    client.update_item(
        TableName=name,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "2"}},
    )
    client.delete_item(TableName=name, Key={"pk": {"S": "a"}})
    outcome = poller.poll_once()

    assert (outcome.received, outcome.delivered, outcome.invocations, dead) == (3, 3, 1, [])
    insert, modify, remove = handler.taken
    stream_arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    assert [r["eventName"] for r in handler.taken] == ["INSERT", "MODIFY", "REMOVE"]
    for record in handler.taken:
        assert record["eventSourceARN"] == stream_arn and record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == REGION and record["eventID"]
        assert record["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert insert["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}, "blob": {"B": "AAE="}}
    assert "OldImage" not in insert["dynamodb"]
    assert (modify["dynamodb"]["OldImage"]["n"], modify["dynamodb"]["NewImage"]["n"]) == ({"N": "1"}, {"N": "2"})
    assert remove["dynamodb"]["OldImage"]["n"] == {"N": "2"} and "NewImage" not in remove["dynamodb"]
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in handler.taken]
    assert sequences == sorted(sequences)
    assert poller.poll_once().received == 0


def test_GIVEN_a_running_poller_WHEN_items_are_written_THEN_each_arrives_once_and_in_order(
    dynamodb_local: str, table: tuple[Any, str]
) -> None:
    client, name = table
    handler = Handler()
    poller, dead = feed(dynamodb_local, name, handler, starting_position="TRIM_HORIZON", batch_size=25)
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(stop,), daemon=True)
    thread.start()
    try:
        keys = [f"k{index:03d}" for index in range(120)]
        for key in keys:
            put(client, name, key)
        written_at = time.monotonic()
        # A liveness bound, not a latency claim: the poll interval (250 ms) and the previous
        # test's "one poll hands everything over" are what make delivery take under a second.
        handler.wait_for(len(keys), timeout=10)
        waited = time.monotonic() - written_at
        time.sleep(3 * poller.poll_interval)  # a few idle polls more: nothing may come twice
    finally:
        stop.set()
        thread.join(timeout=10)

    assert handler.keys() == keys, f"waited {waited:.2f}s"
    assert len({record["eventID"] for record in handler.taken}) == len(keys)
    assert dead == [] and not thread.is_alive()


def test_GIVEN_a_poison_record_among_ten_WHEN_polled_THEN_exactly_it_goes_to_the_failure_destination_and_the_rest_once(
    dynamodb_local: str, table: tuple[Any, str]
) -> None:
    client, name = table
    handler = Handler()
    poller, dead = feed(dynamodb_local, name, handler, batch_size=10, max_retries=2)
    keys = [f"k{index}" for index in range(10)]
    for key in keys:
        put(client, name, key, **({"poison": {"BOOL": True}} if key == "k6" else {}))

    outcome = poller.drain()

    (failed,) = dead
    assert [record["dynamodb"]["Keys"]["pk"]["S"] for record in failed.records] == ["k6"]
    assert failed.attempts == 3 and failed.error == "ValueError: cannot handle this record"
    assert (
        failed.destination_payload()["DDBStreamBatchInfo"]["startSequenceNumber"]
        == (failed.records[0]["dynamodb"]["SequenceNumber"])
    )
    assert handler.keys() == [key for key in keys if key != "k6"]  # each good record taken exactly once
    assert (outcome.received, outcome.delivered, outcome.failed) == (10, 9, 1)
    put(client, name, "after")
    assert poller.poll_once().delivered == 1 and handler.keys()[-1] == "after"
