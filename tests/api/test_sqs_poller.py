"""The local poller behaves like Lambda's SQS event source (on moto SQS)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from chalice.test import Client

from app import app
from scripts.local.sqs_poller import SqsPoller, create_intake_queues
from tests.support import Api, intake_message, signed


@pytest.fixture
def queues(aws: None) -> tuple[Any, str, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    # Visibility 0: a failed record is visible again at once, so five polls are five receives.
    queue_url, dlq_url = create_intake_queues(sqs, "leadcrm-intake", visibility_timeout=0)
    return sqs, queue_url, dlq_url


@pytest.fixture
def poller(api: Api, queues: tuple[Any, str, str]) -> SqsPoller:
    sqs, queue_url, _ = queues
    client = Client(app, stage_name="dev")
    return SqsPoller(sqs, queue_url, lambda event: client.lambda_.invoke("intake", event).payload, wait_seconds=0)


def test_GIVEN_good_records_and_a_poison_one_WHEN_polled_THEN_good_ones_are_deleted_and_poison_reaches_the_dlq_after_5(
    api: Api, queues: tuple[Any, str, str], poller: SqsPoller
) -> None:
    sqs, queue_url, dlq_url = queues
    source = api.source()
    for _ in range(3):
        body = json.dumps(intake_message(source["id"]))
        sqs.send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=signed(body, source["id"]))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"version": 1, "poison": True}))

    outcomes = [poller.poll_once() for _ in range(7)]

    assert (outcomes[0].received, outcomes[0].deleted, outcomes[0].failed) == (4, 3, 1)
    assert [o.received for o in outcomes[1:5]] == [1, 1, 1, 1]
    assert outcomes[5].received == 0 and outcomes[6].received == 0
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    assert [json.loads(m["Body"]) for m in dead["Messages"]] == [{"version": 1, "poison": True}]
    assert api.caught_up().get("/stats/distribution").body["items"][0]["total_appeals"] == 3


def test_GIVEN_a_record_WHEN_it_is_delivered_twice_THEN_one_appeal(
    api: Api, queues: tuple[Any, str, str], poller: SqsPoller
) -> None:
    sqs, queue_url, _ = queues
    source = api.source()
    body = json.dumps(intake_message(source["id"]))
    for _ in range(2):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=signed(body, source["id"]))

    while poller.poll_once().received:
        pass

    assert api.caught_up().get("/stats/distribution").body["items"][0]["total_appeals"] == 1
    assert sqs.receive_message(QueueUrl=queue_url).get("Messages", []) == []


def test_GIVEN_a_handler_that_raises_WHEN_polled_THEN_nothing_is_deleted(queues: tuple[Any, str, str]) -> None:
    sqs, queue_url, _ = queues
    sqs.send_message(QueueUrl=queue_url, MessageBody="{}")

    def crash(event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    outcome = SqsPoller(sqs, queue_url, crash, wait_seconds=0).poll_once()

    assert (outcome.received, outcome.deleted) == (1, 0)
    assert len(sqs.receive_message(QueueUrl=queue_url).get("Messages", [])) == 1
