"""The loopback webhook receiver checks signatures as a subscriber would, and fails on cue."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest

from chalicelib.channels import webhook_signing as ws
from scripts.local.fakes.webhook_receiver import WebhookReceiver

if TYPE_CHECKING:
    from collections.abc import Iterator

SECRET = ws.generate_secret()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET) as server:
        yield server


def post(url: str, event_id: str, *, secret: str = SECRET, at: float | None = None, body: bytes | None = None) -> int:
    payload = body or json.dumps({"id": event_id, "type": "appeal.assigned", "data": {"appeal_id": "ap_1"}}).encode()
    signed_at = int(at if at is not None else time.time())
    request = urllib.request.Request(
        url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json",
            ws.SIGNATURE_HEADER: ws.sign(secret, signed_at, payload),
            ws.EVENT_ID_HEADER: event_id,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_GIVEN_a_correctly_signed_delivery_WHEN_received_THEN_200_and_recorded_as_verified(
    receiver: WebhookReceiver,
) -> None:
    status = post(receiver.url, "ev_1")

    (delivery,) = receiver.deliveries
    assert status == 200
    assert (delivery.verified, delivery.event_id, delivery.json["type"]) == (True, "ev_1", "appeal.assigned")
    assert receiver.accepted_event_ids() == ["ev_1"]


@pytest.mark.parametrize(
    ("secret", "age", "reason"),
    [("whsec_wrong", 0, "SignatureMismatch"), (SECRET, 3600, "TimestampOutsideTolerance")],
    # Ids without the secret: it is random per process, and pytest-xdist workers must collect the same names.
    ids=["wrong_secret", "replayed_an_hour_late"],
)
def test_GIVEN_a_forged_or_replayed_delivery_WHEN_received_THEN_400_and_recorded_as_refused(
    receiver: WebhookReceiver, secret: str, age: int, reason: str
) -> None:
    status = post(receiver.url, "ev_1", secret=secret, at=time.time() - age)

    (delivery,) = receiver.deliveries
    assert status == 400
    assert delivery.verified is False and (delivery.rejection or "").startswith(reason)
    assert receiver.accepted == []


def test_GIVEN_two_scripted_failures_WHEN_delivered_three_times_THEN_500_500_200(receiver: WebhookReceiver) -> None:
    receiver.fail_next(2)

    statuses = [post(receiver.url, "ev_7") for _ in range(3)]

    assert statuses == [500, 500, 200]
    assert [d.status for d in receiver.wait_for(3)] == [500, 500, 200]
    assert receiver.accepted_event_ids() == ["ev_7"]


def test_GIVEN_no_secret_WHEN_anything_is_posted_THEN_it_is_recorded_unchecked() -> None:
    with WebhookReceiver() as open_receiver:
        status = post(open_receiver.url, "ev_1", secret="whsec_anything")

        (delivery,) = open_receiver.deliveries
    assert status == 200 and delivery.verified is None
