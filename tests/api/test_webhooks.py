"""Outgoing webhooks end to end: the admin routes, the stream fan-out, signed deliveries to a loopback
receiver, retries through the queue (moto SQS) with an injected clock, the DLQ, and what never leaks."""

from __future__ import annotations

import itertools
import json
import re
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from chalicelib.channels import webhook_signing as ws
from chalicelib.channels import webhooks
from chalicelib.events.consumer import dispatch
from chalicelib.handlers.webhooks import handle_batch
from chalicelib.models.notifications import WEBHOOKS, WebhookSubscription, find
from chalicelib.schemas.events import DomainEvent
from scripts.local.fakes.webhook_receiver import WebhookReceiver
from tests.log_capture import captured_logs
from tests.support import operator_token, sqs_event

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scripts.local.dev_auth import DevKeys
    from tests.support import Api

_events = itertools.count(1)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
LEAD_MESSAGE = "Quillfeather marzipan contract, call me at +44 20 7946 0111"


@pytest.fixture
def queues(tables: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The delivery queue and its DLQ on moto, named in the environment as the template does."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    dlq = sqs.create_queue(QueueName="leadcrm-webhooks-dlq")["QueueUrl"]
    queue = sqs.create_queue(QueueName="leadcrm-webhooks")["QueueUrl"]
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue)
    monkeypatch.setenv("WEBHOOK_DLQ_URL", dlq)
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    return {"queue": queue, "dlq": dlq}


@pytest.fixture
def delays(queues: dict[str, str]) -> Iterator[list[int]]:
    """Each DelaySeconds the app asks for, recorded; the message is then sent without it, so the test
    receives it at once and moves its clock to the message's due time instead of sleeping."""
    asked: list[int] = []

    def undelay(params: dict[str, Any], **_: Any) -> None:
        asked.append(int(params.pop("DelaySeconds", 0)))

    client = webhooks.sqs_client()
    client.meta.events.register("provide-client-params.sqs.SendMessage", undelay)
    yield asked
    client.meta.events.unregister("provide-client-params.sqs.SendMessage", undelay)


def receive(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def as_record(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1763600000000"},
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:leadcrm-webhooks",
        "awsRegion": "us-east-1",
    }


class Clock:
    """The delivery handler's idea of now: real time at first, then moved to each message's due time."""

    def __init__(self) -> None:
        self.now = time.time()

    def at(self, raw: str) -> float:
        self.now = max(self.now, float(json.loads(raw).get("due_at") or 0))
        return self.now


def drain(queues: dict[str, str], clock: Clock, *, rounds: int | None = None) -> list[str]:
    """Feeds the delivery queue to the SQS handler (Lambda-shaped batches) until it is empty (or for
    `rounds` batches); the outcomes."""
    outcomes: list[str] = []

    def deliver(raw: str) -> str:
        outcome = webhooks.deliver(raw, now=clock.at(raw), rand=lambda: 0.0)
        outcomes.append(outcome)
        return outcome

    for _ in range(rounds or 60):
        messages = receive(queues["queue"])
        if not messages:
            return outcomes
        response = handle_batch(sqs_event([as_record(m) for m in messages]), deliver=deliver)
        assert response["batchItemFailures"] == []
    if rounds is None:
        raise AssertionError("the delivery queue never drained")
    return outcomes


def appeal_event(occurred_at: datetime | None = None, **contact: Any) -> DomainEvent:
    n = next(_events)
    return DomainEvent(
        id=f"ap_test{n:06d}:appeal.assigned:1",
        type="appeal.assigned",
        # Event times are kept to the second; a subscription gets what happens from its creation on.
        occurred_at=occurred_at or datetime.now(UTC).replace(microsecond=0),
        data={"appeal_id": f"ap_test{n:06d}", "lead_id": None, "operator_id": "op_1", "source_id": "src_1"},
        contact=contact,
    )


def subscribe(api: Api, url: str, **fields: Any) -> dict[str, Any]:
    reply = api.post("/webhooks", {"url": url, "events": ["appeal.assigned"], **fields})
    assert reply.status == 201, reply.body
    return dict(reply.body)


# --- the routes ------------------------------------------------------------------------------


def test_GIVEN_an_admin_WHEN_subscribing_THEN_201_with_the_secret_once_and_never_again(
    api: Api, queues: dict[str, str]
) -> None:
    created = subscribe(api, "https://93.184.216.34/hooks/crm", description="CRM sync")

    assert created["secret"].startswith(ws.SECRET_PREFIX)
    assert (created["events"], created["include_contact_data"]) == (["appeal.assigned"], False)
    shown = api.get(f"/webhooks/{created['id']}")
    listed = api.get("/webhooks")
    assert shown.status == 200 and "secret" not in shown.body
    assert [item["id"] for item in listed.body["items"]] == [created["id"]]
    assert created["secret"] not in json.dumps(listed.body) + json.dumps(shown.body)
    stored = find(WebhookSubscription, WEBHOOKS, created["id"])
    assert stored is not None and stored.secret_hash == webhooks.signing_key(created["secret"])
    assert created["secret"] not in json.dumps(stored.attribute_values)


def test_GIVEN_several_webhooks_WHEN_listing_by_pages_THEN_newest_first_with_a_cursor(
    api: Api, queues: dict[str, str]
) -> None:
    ids = [subscribe(api, f"https://93.184.216.34/hook/{n}")["id"] for n in range(3)]

    first = api.get("/webhooks?limit=2")
    second = api.get(f"/webhooks?limit=2&cursor={first.body['next']}")

    assert [item["id"] for item in first.body["items"] + second.body["items"]] == ids[::-1]
    assert second.body["next"] is None


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"url": "https://10.1.2.3/hook", "events": ["*"]}, "body.url"),
        ({"url": "https://169.254.169.254/latest/meta-data", "events": ["*"]}, "body.url"),
        ({"url": "http://127.0.0.1:8080/hook", "events": ["*"]}, "body.url"),
        ({"url": "https://localhost/hook", "events": ["*"]}, "body.url"),
        ({"url": "http://93.184.216.34/hook", "events": ["*"]}, "body.url"),  # https only
        ({"url": "ftp://93.184.216.34/hook", "events": ["*"]}, "body.url"),
        ({"url": "https://93.184.216.34/hook", "events": ["appeal.exploded"]}, "body.events.0"),
        ({"url": "https://93.184.216.34/hook", "events": []}, "body.events"),
        ({"url": "https://93.184.216.34/hook"}, "body.events"),
    ],
)
def test_GIVEN_no_allow_list_WHEN_subscribing_a_private_or_invalid_target_THEN_422_naming_the_field(
    api: Api, monkeypatch: pytest.MonkeyPatch, body: dict[str, Any], path: str
) -> None:
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE_HOSTS", raising=False)

    reply = api.post("/webhooks", body)

    assert reply.status == 422, reply.body
    assert path in [error["path"] for error in reply.body["errors"]]
    assert api.get("/webhooks").body["items"] == []


def test_GIVEN_unknown_ids_WHEN_calling_each_webhook_route_THEN_404(api: Api) -> None:
    for method, path in [
        ("GET", "/webhooks/wh_0000000000000000"),
        ("DELETE", "/webhooks/wh_0000000000000000"),
        ("POST", "/webhooks/wh_0000000000000000/test"),
        ("GET", "/webhooks/wh_0000000000000000/deliveries"),
        ("GET", "/webhooks/not-an-id"),
    ]:
        reply = api.call(method, path)
        assert reply.status == 404, (method, path, reply.body)


def test_GIVEN_an_operator_WHEN_calling_the_webhook_routes_THEN_403_and_nothing_is_created(
    api: Api, dev_keys: DevKeys, queues: dict[str, str]
) -> None:
    operator = api.as_(operator_token(dev_keys, api.operator("Olga")["id"]))
    hook = subscribe(api, "https://93.184.216.34/hook")

    for method, path, body in [
        ("POST", "/webhooks", {"url": "https://93.184.216.34/x", "events": ["*"]}),
        ("GET", "/webhooks", None),
        ("GET", f"/webhooks/{hook['id']}", None),
        ("DELETE", f"/webhooks/{hook['id']}", None),
        ("POST", f"/webhooks/{hook['id']}/test", None),
        ("GET", f"/webhooks/{hook['id']}/deliveries", None),
    ]:
        assert operator.call(method, path, body).status == 403, (method, path)
    assert [item["id"] for item in api.get("/webhooks").body["items"]] == [hook["id"]]


def test_GIVEN_a_webhook_WHEN_deleted_THEN_gone_and_its_queued_deliveries_end_failed(
    api: Api, queues: dict[str, str], delays: list[int]
) -> None:
    with WebhookReceiver() as receiver:
        hook = subscribe(api, receiver.url)
        dispatch(appeal_event())
        assert api.call("DELETE", f"/webhooks/{hook['id']}").status == 204

        outcomes = drain(queues, Clock())

        assert outcomes == ["dropped"]
        assert receiver.deliveries == []
        assert api.get(f"/webhooks/{hook['id']}").status == 404


# --- deliveries ------------------------------------------------------------------------------


def test_GIVEN_an_event_from_before_the_subscription_WHEN_a_replayed_stream_dispatches_it_THEN_nothing_is_sent(
    api: Api, queues: dict[str, str]
) -> None:
    with WebhookReceiver() as receiver:
        subscribe(api, receiver.url)
        history = appeal_event(occurred_at=datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5))
        fresh = appeal_event()

        dispatch(history)
        dispatch(fresh)
        outcomes = drain(queues, Clock())

    assert outcomes == ["delivered"]
    assert [delivery.event_id for delivery in receiver.deliveries] == [fresh.id]


def test_GIVEN_a_subscription_WHEN_its_event_is_dispatched_THEN_one_signed_delivery_the_receiver_verifies(
    api: Api, queues: dict[str, str], delays: list[int]
) -> None:
    with WebhookReceiver() as receiver:
        hook = subscribe(api, receiver.url)
        receiver.secret = webhooks.signing_key(hook["secret"])  # what the subscriber derives from its secret
        event = appeal_event()

        dispatch(event)
        outcomes = drain(queues, Clock())

    assert outcomes == ["delivered"]
    (delivery,) = receiver.deliveries
    assert delivery.verified is True, delivery.rejection
    assert delivery.event_id == event.id
    assert delivery.json == {
        "id": event.id,
        "type": "appeal.assigned",
        "occurred_at": event.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": event.data,
    }
    header = delivery.header(ws.SIGNATURE_HEADER)
    timestamp = ws.verify(receiver.secret, header, delivery.body, time.time())
    # A tampered body, or the same delivery replayed after the tolerance, does not verify.
    with pytest.raises(ws.SignatureMismatch):
        ws.verify(receiver.secret, header, delivery.body.replace(b"appeal.assigned", b"appeal.closed"), time.time())
    with pytest.raises(ws.TimestampOutsideTolerance):
        ws.verify(receiver.secret, header, delivery.body, timestamp + ws.TIMESTAMP_TOLERANCE_SECONDS + 1)
    with pytest.raises(ws.SignatureMismatch):
        ws.verify(webhooks.signing_key(ws.generate_secret()), header, delivery.body, time.time())


def test_GIVEN_a_redelivered_stream_batch_WHEN_dispatched_twice_THEN_the_receiver_gets_the_event_once(
    api: Api, queues: dict[str, str], delays: list[int]
) -> None:
    with WebhookReceiver() as receiver:
        hook = subscribe(api, receiver.url)
        event = appeal_event()

        dispatch(event)
        dispatch(event)
        outcomes = drain(queues, Clock())
        dispatch(event)  # after it went out: nothing new is even enqueued
        later = drain(queues, Clock())

    assert sorted(outcomes) == ["delivered", "duplicate"]
    assert later == []
    assert receiver.accepted_event_ids() == [event.id]
    (item,) = api.get(f"/webhooks/{hook['id']}/deliveries").body["items"]
    assert (item["status"], len(item["attempts"])) == ("delivered", 1)


def test_GIVEN_a_receiver_failing_once_WHEN_delivering_THEN_retried_after_a_backoff_and_delivered_with_two_attempts(
    api: Api, queues: dict[str, str], delays: list[int]
) -> None:
    with WebhookReceiver() as receiver:
        hook = subscribe(api, receiver.url)
        receiver.fail_next(1, status=500)
        event = appeal_event()

        dispatch(event)
        clock = Clock()
        started = clock.now
        outcomes = drain(queues, clock)

    assert outcomes == ["retrying", "delivered"]
    assert [d.status for d in receiver.deliveries] == [500, 200]
    assert {d.event_id for d in receiver.deliveries} == {event.id}
    assert receiver.deliveries[0].body == receiver.deliveries[1].body  # the same body, signed anew
    assert delays == [0, 15]  # the first enqueue, then half of the first 30 s step (jitter 0)
    assert clock.now - started == pytest.approx(15, abs=1)
    (item,) = api.get(f"/webhooks/{hook['id']}/deliveries").body["items"]
    assert item["status"] == "delivered"
    assert [(a["number"], a["status_code"]) for a in item["attempts"]] == [(1, 500), (2, 200)]
    assert item["attempts"][0]["error"] == "HTTP 500"
    assert item["last_status_code"] == 200 and item["last_error"] is None and item["next_attempt_at"] is None


def test_GIVEN_a_receiver_always_failing_WHEN_24_hours_pass_THEN_the_delivery_fails_into_the_dlq(
    api: Api, queues: dict[str, str], delays: list[int]
) -> None:
    with WebhookReceiver(tolerance=10**9) as receiver:
        hook = subscribe(api, receiver.url)
        receiver.fail_next(1000, status=503)
        event = appeal_event()

        dispatch(event)
        clock = Clock()
        started = clock.now
        outcomes = drain(queues, clock)

    assert outcomes[-1] == "failed" and set(outcomes[:-1]) == {"retrying"}
    assert len(receiver.deliveries) == len(outcomes)
    assert clock.now - started <= ws.RETRY_WINDOW_SECONDS
    assert max(delays) == ws.MAX_SQS_DELAY_SECONDS  # long waits are hops of at most 900 s
    (dead,) = receive(queues["dlq"])
    assert json.loads(dead["Body"])["webhook_id"] == hook["id"]
    (item,) = api.get(f"/webhooks/{hook['id']}/deliveries").body["items"]
    assert (item["status"], item["last_status_code"], item["next_attempt_at"]) == ("failed", 503, None)
    assert len(item["attempts"]) == len(outcomes)


def test_GIVEN_nothing_listening_WHEN_delivering_THEN_the_attempt_records_the_error_and_is_retried(
    api: Api, queues: dict[str, str], delays: list[int]
) -> None:
    hook = subscribe(api, "http://127.0.0.1:9/nothing-listens")
    dispatch(appeal_event())
    outcomes = drain(queues, Clock(), rounds=1)

    assert outcomes == ["retrying"]
    (item,) = api.get(f"/webhooks/{hook['id']}/deliveries").body["items"]
    assert item["status"] == "retrying" and item["attempts"][0]["status_code"] is None
    assert item["last_error"].startswith("ConnectionRefusedError")
    assert item["next_attempt_at"] is not None


def test_GIVEN_a_receiver_that_never_answers_WHEN_delivering_THEN_the_attempt_times_out_and_is_retried(
    api: Api, queues: dict[str, str], delays: list[int]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never reads or answers
        hook = subscribe(api, f"http://127.0.0.1:{silent.getsockname()[1]}/hook")
        dispatch(appeal_event())
        (message,) = receive(queues["queue"])
        started = time.monotonic()

        outcome = webhooks.deliver(message["Body"], timeout=0.5)

    assert outcome == "retrying"
    assert 0.5 <= time.monotonic() - started < 5
    (item,) = api.get(f"/webhooks/{hook['id']}/deliveries").body["items"]
    assert (item["last_error"], item["attempts"][0]["status_code"]) == ("timed out after 0.5 s", None)


def test_GIVEN_the_allow_list_removed_WHEN_delivering_to_a_loopback_url_THEN_refused_at_delivery_time(
    api: Api, queues: dict[str, str], delays: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    with WebhookReceiver() as receiver:
        hook = subscribe(api, receiver.url)
        dispatch(appeal_event())
        monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE_HOSTS")  # as if the name now resolved somewhere private
        outcomes = drain(queues, Clock(), rounds=1)

    assert outcomes == ["retrying"]
    assert receiver.deliveries == []
    (item,) = api.get(f"/webhooks/{hook['id']}/deliveries").body["items"]
    assert item["last_error"].startswith("destination refused")


def test_GIVEN_a_host_resolving_to_a_private_address_WHEN_checked_THEN_refused_unless_allow_listed() -> None:
    settings = webhooks.HookSettings(queue_url=None, dlq_url=None, private_hosts=frozenset())

    def rebinding(_host: str, _port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]  # one public, one private: refused

    with pytest.raises(ws.UnsafeDestination):
        webhooks._checked("https://hooks.example.com/x", settings, rebinding)
    allowed = webhooks.HookSettings(None, None, frozenset({"hooks.example.com"}))
    assert webhooks._checked("https://hooks.example.com/x", allowed, rebinding).addresses[1] == "10.0.0.7"


# --- payloads, the test ping, listing, logs --------------------------------------------------


def test_GIVEN_no_opt_in_WHEN_an_event_carries_contact_data_THEN_the_payload_has_ids_only(
    api: Api, queues: dict[str, str], delays: list[int]
) -> None:
    with WebhookReceiver() as plain, WebhookReceiver() as opted:
        subscribe(api, plain.url)
        subscribe(api, opted.url, include_contact_data=True)
        event = appeal_event(message=LEAD_MESSAGE, lead_external_id="tg:4242")

        dispatch(event)
        drain(queues, Clock())

    (without,) = plain.deliveries
    (with_contact,) = opted.deliveries
    assert LEAD_MESSAGE.encode() not in without.body and b"tg:4242" not in without.body
    assert "contact" not in without.json["data"]
    assert with_contact.json["data"]["contact"] == {"message": LEAD_MESSAGE, "lead_external_id": "tg:4242"}


def test_GIVEN_a_webhook_WHEN_pinged_THEN_a_signed_test_event_is_delivered_now_and_listed(
    api: Api, queues: dict[str, str]
) -> None:
    with WebhookReceiver() as receiver:
        hook = subscribe(api, receiver.url)
        receiver.secret = webhooks.signing_key(hook["secret"])

        ping = api.post(f"/webhooks/{hook['id']}/test")
        again = api.post(f"/webhooks/{hook['id']}/test")

    assert ping.status == 200, ping.body
    assert (ping.body["status"], ping.body["event_type"], ping.body["attempts"][0]["status_code"]) == (
        "delivered",
        "webhook.test",
        200,
    )
    assert [d.verified for d in receiver.deliveries] == [True, True]
    assert receiver.deliveries[0].json["type"] == "webhook.test"
    assert receiver.deliveries[0].json["data"] == {"webhook_id": hook["id"]}
    page = api.get(f"/webhooks/{hook['id']}/deliveries?limit=1")
    rest = api.get(f"/webhooks/{hook['id']}/deliveries?limit=1&cursor={page.body['next']}")
    assert [item["id"] for item in page.body["items"] + rest.body["items"]] == [again.body["id"], ping.body["id"]]
    assert rest.body["next"] is None


def test_GIVEN_deliveries_with_contact_data_WHEN_logged_THEN_no_secret_no_url_no_payload_text_in_any_line(
    api: Api, queues: dict[str, str], delays: list[int]
) -> None:
    with captured_logs() as logs, WebhookReceiver() as receiver:
        hook = subscribe(api, receiver.url + "/tok_Zq9rUvX", include_contact_data=True)
        receiver.fail_next(1)
        dispatch(appeal_event(message=LEAD_MESSAGE))
        drain(queues, Clock())
        api.post(f"/webhooks/{hook['id']}/test")

    text = logs.text()
    assert "webhook delivery attempted" in text  # the lines exist: the check below has something to read
    for secret in (hook["secret"], webhooks.signing_key(hook["secret"]), "tok_Zq9rUvX", "Quillfeather", "7946"):
        assert secret not in text, secret
    assert receiver.accepted  # and the deliveries did go out


def test_GIVEN_the_python_verifier_in_the_docs_WHEN_run_on_a_real_delivery_THEN_it_accepts_it_and_refuses_tampering(
    api: Api, queues: dict[str, str], delays: list[int]
) -> None:
    snippet = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S)
    assert snippet is not None
    with WebhookReceiver() as receiver:
        hook = subscribe(api, receiver.url)
        dispatch(appeal_event())
        drain(queues, Clock())
    namespace: dict[str, Any] = {}
    exec(snippet.group(1).replace('SECRET = "whsec_…"', f"SECRET = {hook['secret']!r}"), namespace)
    verify = namespace["verify"]
    (delivery,) = receiver.deliveries
    header = delivery.header(ws.SIGNATURE_HEADER)

    assert verify(header, delivery.body) is True
    assert verify(header, delivery.body + b" ") is False
    assert verify(header, delivery.body, now=time.time() + 301) is False
    assert verify("t=1,v1=00", delivery.body) is False
