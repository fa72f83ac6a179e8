"""Webhook deliveries racing on the real engine: one event reaches a subscription as a success once.

The delivery queue is moto's SQS server on loopback (SQS has no local
engine); the claims that make "at most once" true are conditional writes on
DynamoDB Local, which is what this tier is for. 30 rounds of 10 threads: 300
racing operations of each kind.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import boto3
import pytest

from chalicelib.channels import webhooks
from chalicelib.events.consumer import dispatch
from chalicelib.schemas.events import DomainEvent
from chalicelib.schemas.webhooks import WebhookCreate
from scripts.local.fakes.webhook_receiver import WebhookReceiver
from tests.integration.helpers import race, warm_up

if TYPE_CHECKING:
    from collections.abc import Iterator

ROUNDS = 30
THREADS = 10
_events = itertools.count(1)


@pytest.fixture
def queue(real_tables: str) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL_SQS", f"http://{host}:{port}")
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="leadcrm-webhooks")["QueueUrl"]
        env.setenv("WEBHOOK_QUEUE_URL", url)
        env.setenv("WEBHOOK_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
        yield url
    server.stop()


def messages(queue_url: str) -> list[str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def an_event() -> DomainEvent:
    n = next(_events)
    return DomainEvent(
        id=f"ap_race{n:06d}:appeal.assigned:1",
        type="appeal.assigned",
        occurred_at=datetime.now(UTC),
        data={"appeal_id": f"ap_race{n:06d}", "lead_id": None, "operator_id": "op_1"},
    )


def test_GIVEN_one_delivery_message_WHEN_10_threads_handle_it_at_once_THEN_the_receiver_gets_it_once(
    queue: str,
) -> None:
    warm_up()
    with WebhookReceiver() as receiver:
        webhooks.create_webhook(WebhookCreate(url=receiver.url, events=["*"]))
        outcomes: Counter[str] = Counter()
        for round_ in range(ROUNDS):
            event = an_event()
            dispatch(event)
            (raw,) = messages(queue)

            results = race(THREADS, lambda _, raw=raw: webhooks.deliver(raw))

            outcomes.update(results)
            assert results.count("delivered") == 1, (round_, results)
            assert set(results) <= {"delivered", "duplicate"}, (round_, results)
            assert receiver.accepted_event_ids().count(event.id) == 1, round_

    assert len(receiver.deliveries) == ROUNDS
    assert outcomes["duplicate"] == ROUNDS * (THREADS - 1)  # every round really raced


def test_GIVEN_a_stream_batch_WHEN_10_redeliveries_dispatch_it_at_once_THEN_one_delivery_goes_out(
    queue: str,
) -> None:
    warm_up()
    with WebhookReceiver() as receiver:
        hook = webhooks.create_webhook(WebhookCreate(url=receiver.url, events=["appeal.assigned"]))
        enqueued = 0
        for round_ in range(ROUNDS):
            event = an_event()

            race(THREADS, lambda _, event=event: dispatch(event))
            bodies = messages(queue)
            enqueued += len(bodies)
            results = [webhooks.deliver(raw) for raw in bodies]

            assert results.count("delivered") == 1, (round_, results)
            assert receiver.accepted_event_ids().count(event.id) == 1, round_

        page = webhooks.list_deliveries(hook.id, 200, None)
    assert len(page.items) == ROUNDS
    assert {item.status for item in page.items} == {"delivered"}
    assert {len(item.attempts) for item in page.items} == {1}
    assert enqueued >= ROUNDS  # a run that lost the create race enqueued nothing or a harmless duplicate
