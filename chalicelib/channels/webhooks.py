"""Outgoing webhooks: subscriptions, the fan-out of domain events to the delivery queue, and each attempt.

Fan-out (`notify`, called by the stream consumers' `dispatch`): for every
subscription whose event types match, one delivery item (its key derived
from the event id and the webhook id, written only if absent) and one queue
message carrying the body. A redelivered stream batch finds the item and
enqueues nothing new.

Delivery (`deliver`, driven by the SQS handler): claim the next attempt on
the delivery item (a conditional update: right attempt number, not yet
delivered or failed, no live lease), check the URL again (fresh DNS: a
name may resolve elsewhere now), POST the signed body to the checked
address, record the attempt. A failure re-enqueues the message with the next
attempt's number and due time (`webhook_signing.plan_retry`, in hops of at
most 900 s); once the 24-hour window is spent, the message goes to the DLQ
and the delivery reads `failed`. A duplicate message cannot claim and does
nothing, so an event reaches a subscription as a success at most once;
receivers also get the event id to deduplicate on.

The signing key is the stored hex SHA-256 of the secret shown once (the
way a bot key's hash signs queue messages); docs/webhooks.md shows how a
receiver verifies.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import random
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.access.secrets import hash_secret
from chalicelib.channels import webhook_signing as signing
from chalicelib.core.config import current_settings
from chalicelib.core.errors import FieldProblem, InvalidInput, NotFound
from chalicelib.core.ids import iso, new_id, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.transactions import update_if
from chalicelib.models.leads import Lead
from chalicelib.models.notifications import (
    WEBHOOKS,
    Attempt,
    Delivery,
    WebhookSubscription,
    all_webhooks,
    deliveries_key,
    deliveries_newest_first,
    delivery_sort_key,
    find,
    webhooks_newest_first,
)
from chalicelib.schemas.common import Page
from chalicelib.schemas.webhooks import (
    ALL_EVENTS,
    TEST_EVENT,
    AttemptOut,
    DeliveryMessage,
    DeliveryOut,
    WebhookCreated,
    WebhookOut,
    WebhookPayload,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.channels.webhook_signing import Destination, Resolver
    from chalicelib.schemas.events import DomainEvent
    from chalicelib.schemas.webhooks import WebhookCreate

    # (destination, body, headers, timeout) -> the receiver's HTTP status; raises OSError/HTTPException.
    Poster = Callable[[Destination, bytes, dict[str, str], float], int]

__all__ = [
    "DELIVERY_ID_HEADER",
    "DELIVERY_TTL_SECONDS",
    "TIMEOUT_SECONDS",
    "HookSettings",
    "create_webhook",
    "delete_webhook",
    "deliver",
    "get_webhook",
    "hook_settings",
    "list_deliveries",
    "list_webhooks",
    "notify",
    "payload_for",
    "send_test",
    "signing_key",
    "sqs_client",
]

TIMEOUT_SECONDS = 5.0
DELIVERY_TTL_SECONDS = 30 * 86400
# Longer than one attempt (DNS + a 5 s POST), shorter than the queue's visibility timeout,
# so a run that died mid-attempt is taken over by the message's redelivery.
LEASE_SECONDS = 60
# A message this early is sent back with the remaining delay rather than attempted.
_EARLY_TOLERANCE_SECONDS = 1.0
_MAX_ERROR_LENGTH = 200
_USER_AGENT = "LeadCRM-Webhooks/1"
DELIVERY_ID_HEADER = "X-Leadcrm-Delivery-Id"


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HookSettings:
    queue_url: str | None
    dlq_url: str | None
    # Hosts allowed although they are loopback/private (and over plain http): local use only.
    private_hosts: frozenset[str]

    def allows_private(self, host: str) -> bool:
        return "*" in self.private_hosts or host.lower().strip("[]") in self.private_hosts


def hook_settings() -> HookSettings:
    """`WEBHOOK_QUEUE_URL`, `WEBHOOK_DLQ_URL`; `WEBHOOK_ALLOW_PRIVATE_HOSTS`: `*` (or 1/true) for any
    host, or a comma-separated list of host names / addresses (make run and the tests set it)."""
    raw = (os.environ.get("WEBHOOK_ALLOW_PRIVATE_HOSTS") or "").strip().lower()
    hosts = frozenset({"*"} if raw in ("1", "true", "yes", "*") else {h.strip() for h in raw.split(",") if h.strip()})
    return HookSettings(
        queue_url=os.environ.get("WEBHOOK_QUEUE_URL") or None,
        dlq_url=os.environ.get("WEBHOOK_DLQ_URL") or None,
        private_hosts=hosts,
    )


def signing_key(secret: str) -> str:
    """The HMAC key a subscriber derives from its secret: its hex SHA-256 (what we store)."""
    return hash_secret(secret)


def _checked(url: str, settings: HookSettings, resolve: Resolver | None) -> Destination:
    """The URL as a destination, or UnsafeDestination: https and a public host, unless allow-listed."""
    host = (urlsplit(url).hostname or "") if "\\" not in url else ""
    allowed = bool(host) and settings.allows_private(host)
    destination = signing.check_destination(url, allow_private=allowed, resolve=resolve)
    if destination.scheme != "https" and not allowed:
        raise signing.UnsafeDestination("only https URLs are allowed")
    return destination


# --- subscriptions ---------------------------------------------------------------------------


def _out(row: WebhookSubscription) -> WebhookOut:
    return WebhookOut(
        id=row.sk,
        url=row.url,
        events=list(row.events or ()),
        description=row.description,
        include_contact_data=bool(row.include_contact),
        created_at=datetime.fromisoformat(row.created_at),
    )


def _row(webhook_id: str) -> WebhookSubscription:
    row = find(WebhookSubscription, WEBHOOKS, webhook_id) if webhook_id.startswith("wh_") else None
    if row is None:
        raise NotFound.entity("webhook", webhook_id)
    return row


def create_webhook(request: WebhookCreate, *, resolve: Resolver | None = None) -> WebhookCreated:
    try:
        _checked(request.url, hook_settings(), resolve)
    except signing.UnsafeDestination as error:
        raise InvalidInput("webhook URL refused", [FieldProblem(("body", "url"), str(error))]) from None
    secret = signing.generate_secret()
    row = WebhookSubscription(
        WEBHOOKS,
        new_id("wh"),
        url=request.url,
        events=list(request.events),
        description=request.description,
        secret_hash=signing_key(secret),
        include_contact=request.include_contact_data,
        created_at=iso(utc_now()),
    )
    row.save(condition=WebhookSubscription.sk.does_not_exist())
    return WebhookCreated(**_out(row).model_dump(), secret=secret)


def list_webhooks(limit: int, cursor: str | None) -> Page[WebhookOut]:
    rows, following = webhooks_newest_first(limit, cursor)
    return Page[WebhookOut](items=[_out(row) for row in rows], next=following)


def get_webhook(webhook_id: str) -> WebhookOut:
    return _out(_row(webhook_id))


def delete_webhook(webhook_id: str) -> None:
    """Deleted at once; its queued messages find no subscription and end as `failed`."""
    _row(webhook_id).delete()


def list_deliveries(webhook_id: str, limit: int, cursor: str | None) -> Page[DeliveryOut]:
    _row(webhook_id)
    rows, following = deliveries_newest_first(webhook_id, limit, cursor)
    return Page[DeliveryOut](items=[_delivery_out(row) for row in rows], next=following)


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _delivery_out(row: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=row.delivery_id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        attempts=[
            AttemptOut(
                number=int(a.number),
                at=datetime.fromisoformat(a.at),
                status_code=None if a.status_code is None else int(a.status_code),
                error=a.error,
                duration_ms=None if a.duration_ms is None else int(a.duration_ms),
            )
            for a in row.attempt_log or ()
        ],
        last_status_code=None if row.last_status_code is None else int(row.last_status_code),
        last_error=row.last_error,
        next_attempt_at=_moment(row.next_attempt_at),
        delivered_at=_moment(row.delivered_at),
        created_at=datetime.fromisoformat(row.created_at),
    )


# --- fan-out ---------------------------------------------------------------------------------


def _matches(row: WebhookSubscription, event_type: str) -> bool:
    wanted = set(row.events or ())
    return ALL_EVENTS in wanted or event_type in wanted


def _subscribed_by(row: WebhookSubscription, event: DomainEvent) -> bool:
    """A subscription gets what happens from its creation on, never history (a replayed stream
    or a restarted local poller re-reads old records). Compared to the second: event times
    are kept to the second."""
    created = datetime.fromisoformat(row.created_at.replace("Z", "+00:00")).replace(microsecond=0)
    occurred = event.occurred_at if event.occurred_at.tzinfo else event.occurred_at.replace(tzinfo=UTC)
    return occurred >= created


def _contact(event: DomainEvent) -> dict[str, Any]:
    """The personal fields an opted-in subscriber gets: the event's own and the lead's contacts."""
    contact = {key: value for key, value in event.contact.items() if value is not None}
    lead_id = event.data.get("lead_id")
    if isinstance(lead_id, str) and lead_id.startswith("ld_"):
        try:
            lead = Lead.get(lead_id)
        except DoesNotExist:
            return contact
        for name in ("name", "phone", "email", "external_id"):
            value = getattr(lead, name, None)
            if value is not None:
                contact.setdefault(name, value)
    return contact


def payload_for(event: DomainEvent, contact: dict[str, Any] | None) -> str:
    """The body POSTed: ids and non-personal fields; `data.contact` only for an opted-in subscriber."""
    data = dict(event.data)
    if contact is not None:
        data["contact"] = contact
    body = WebhookPayload(id=event.id, type=event.type, occurred_at=event.occurred_at, data=data)
    return body.model_dump_json()


def _delivery_id(event_id: str, webhook_id: str) -> str:
    raw = hashlib.sha256(f"{event_id}\x1f{webhook_id}".encode()).digest()
    return "dl_" + base64.b32encode(raw).decode().rstrip("=").lower()[:26]


def notify(event: DomainEvent) -> None:
    """Enqueues one delivery of `event` per matching subscription (none when nobody subscribed)."""
    matching = [row for row in all_webhooks() if _matches(row, event.type) and _subscribed_by(row, event)]
    if not matching:
        return
    settings = hook_settings()
    if not settings.queue_url:
        raise RuntimeError("WEBHOOK_QUEUE_URL is not configured")
    contact = _contact(event) if any(row.include_contact for row in matching) else None
    for row in matching:
        body = payload_for(event, contact if row.include_contact else None)
        delivery = _open_delivery(row.sk, event.id, event.type, event.occurred_at)
        if delivery is not None:
            _enqueue(
                settings.queue_url, DeliveryMessage(webhook_id=row.sk, delivery_sk=delivery.sk, attempt=1, body=body)
            )


def _open_delivery(webhook_id: str, event_id: str, event_type: str, occurred_at: datetime) -> Delivery | None:
    """The delivery item for (event, webhook), created now; None when an earlier run already got it going."""
    delivery_id = _delivery_id(event_id, webhook_id)
    now = time.time()
    row = Delivery(
        deliveries_key(webhook_id),
        delivery_sort_key(iso(occurred_at), delivery_id),
        delivery_id=delivery_id,
        webhook_id=webhook_id,
        event_id=event_id,
        event_type=event_type,
        status="pending",
        attempts=0,
        attempt_log=[],
        created_at=iso(utc_now()),
        expires_at=int(now) + DELIVERY_TTL_SECONDS,
    )
    try:
        row.save(condition=Delivery.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        seen = find(Delivery, row.pk, row.sk)
        # Created, but the run that created it may have failed before enqueueing: enqueue again
        # (a duplicate message cannot claim an attempt, so at most one goes out).
        if seen is not None and seen.status == "pending" and int(seen.attempts or 0) == 0:
            return seen
        return None
    return row


@lru_cache(maxsize=4)
def _sqs(region: str, endpoint: str | None) -> Any:
    import boto3

    return boto3.session.Session().client("sqs", region_name=region, endpoint_url=endpoint)


def sqs_client() -> Any:
    """The SQS client deliveries are enqueued with: one per region and endpoint (`AWS_ENDPOINT_URL_SQS`:
    the local stack, tests), built on first use; tests hook its events."""
    return _sqs(current_settings().region, os.environ.get("AWS_ENDPOINT_URL_SQS") or None)


def _enqueue(queue_url: str, message: DeliveryMessage, delay: int = 0) -> None:
    sqs_client().send_message(
        QueueUrl=queue_url,
        MessageBody=message.model_dump_json(),
        DelaySeconds=max(0, min(signing.MAX_SQS_DELAY_SECONDS, int(delay))),
    )


# --- delivery --------------------------------------------------------------------------------


def _post(destination: Destination, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POSTs to the address the check resolved (not a second lookup: DNS rebinding), no redirects followed.

    The Host header and TLS (SNI, certificate) still use the URL's name."""
    parts = urlsplit(destination.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = http.client.HTTPSConnection if destination.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(destination.host, destination.port, timeout=timeout)
    pinned = (destination.addresses[0], destination.port)

    def connect(_address: Any, timeout: Any = None, source_address: Any = None) -> socket.socket:
        return socket.create_connection(pinned, timeout, source_address)

    connection._create_connection = connect  # type: ignore[attr-defined]
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # a receiver's answer is not ours to keep
        return int(response.status)
    finally:
        connection.close()


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _attempt(
    row: WebhookSubscription,
    message: DeliveryMessage,
    event_id: str,
    delivery_id: str,
    now: float,
    resolve: Resolver | None,
    post: Poster,
    timeout: float,
) -> _Outcome:
    started = time.monotonic()
    try:
        destination = _checked(row.url, hook_settings(), resolve)
    except signing.UnsafeDestination as refused:
        return _Outcome(None, f"destination refused: {refused}"[:_MAX_ERROR_LENGTH], 0)
    body = message.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": _USER_AGENT,
        signing.SIGNATURE_HEADER: signing.sign(row.secret_hash, int(now), body),
        signing.EVENT_ID_HEADER: event_id,
        DELIVERY_ID_HEADER: delivery_id,
    }
    try:
        status: int | None = post(destination, body, headers, timeout)
        problem = None if status is not None and 200 <= status < 300 else f"HTTP {status}"
    except TimeoutError:
        status, problem = None, f"timed out after {timeout:g} s"
    except (OSError, http.client.HTTPException) as failure:
        status, problem = None, f"{type(failure).__name__}: {failure}"[:_MAX_ERROR_LENGTH]
    return _Outcome(status, problem, int((time.monotonic() - started) * 1000))


def deliver(
    raw: str,
    *,
    now: float | None = None,
    resolve: Resolver | None = None,
    post: Poster = _post,
    rand: Callable[[], float] = random.random,
    timeout: float = TIMEOUT_SECONDS,
) -> str:
    """Handles one delivery queue message; answers what happened (for logs and tests):
    `delivered`, `retrying`, `failed`, `waiting` (sent back until due), `duplicate`, `dropped`.

    Raises on a malformed message (it fails alone and ends in the queue's DLQ)
    and on infrastructure errors (the message is redelivered and, its lease
    expired, attempted again)."""
    at = time.time() if now is None else now
    message = DeliveryMessage.model_validate_json(raw)
    settings = hook_settings()
    pk = deliveries_key(message.webhook_id)
    if message.due_at > at + _EARLY_TOLERANCE_SECONDS:
        if not settings.queue_url:
            raise RuntimeError("WEBHOOK_QUEUE_URL is not configured")
        _enqueue(settings.queue_url, message, signing.hop_delay(message.due_at, at))
        return "waiting"
    row = find(WebhookSubscription, WEBHOOKS, message.webhook_id)
    delivery = Delivery(pk, message.delivery_sk)
    if row is None:
        _close(delivery, message, "the webhook was deleted")
        return "dropped"
    lease = at + LEASE_SECONDS
    claimed = update_if(
        delivery,
        [Delivery.lease_until.set(lease)],
        (Delivery.attempts == message.attempt - 1)
        & Delivery.status.is_in("pending", "retrying")
        & (Delivery.lease_until.does_not_exist() | (Delivery.lease_until < at)),
        "webhook delivery",
    )
    if not claimed:
        return "duplicate"
    first_attempt_at = message.first_attempt_at or at
    outcome = _attempt(row, message, delivery.event_id, delivery.delivery_id, at, resolve, post, timeout)
    entry = Attempt(
        number=message.attempt,
        at=iso(datetime.fromtimestamp(at, UTC)),
        status_code=outcome.status_code,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
    )
    if outcome.ok:
        result, actions = "delivered", [Delivery.delivered_at.set(entry.at), Delivery.next_attempt_at.remove()]
    else:
        plan = signing.plan_retry(message.attempt, first_attempt_at=first_attempt_at, now=at, rand=rand)
        if plan is not None and settings.queue_url:
            follow = message.model_copy(
                update={"attempt": plan.attempt, "due_at": plan.due_at, "first_attempt_at": first_attempt_at}
            )
            # Enqueued before the attempt is recorded: if recording fails, this message comes back
            # and its retry claims the attempt again; the extra follow-up finds the count moved on.
            _enqueue(settings.queue_url, follow, plan.hop_delay(at))
            when = iso(datetime.fromtimestamp(plan.due_at, UTC))
            result, actions = "retrying", [Delivery.next_attempt_at.set(when)]
        else:
            if settings.dlq_url:
                sqs_client().send_message(QueueUrl=settings.dlq_url, MessageBody=message.model_dump_json())
            result, actions = "failed", [Delivery.next_attempt_at.remove()]
    code = outcome.status_code
    recorded = update_if(
        delivery,
        [
            *actions,
            Delivery.status.set(result),
            Delivery.attempts.set(message.attempt),
            Delivery.attempt_log.set(Delivery.attempt_log.append([entry])),
            Delivery.last_status_code.set(code) if code is not None else Delivery.last_status_code.remove(),
            Delivery.last_error.set(outcome.error) if outcome.error else Delivery.last_error.remove(),
            Delivery.lease_until.remove(),
        ],
        (Delivery.attempts == message.attempt - 1) & (Delivery.lease_until == lease),
        "webhook delivery",
    )
    logger.info(
        "webhook delivery attempted",
        extra={
            "webhook_id": message.webhook_id,
            "delivery_id": delivery.delivery_id,
            "event_id": delivery.event_id,
            "event_type": delivery.event_type,
            "attempt": message.attempt,
            "status_code": outcome.status_code,
            "outcome": result,
            "recorded": recorded,
            "duration_ms": outcome.duration_ms,
        },
    )
    return result


def _close(delivery: Delivery, message: DeliveryMessage, reason: str) -> None:
    update_if(
        delivery,
        [Delivery.status.set("failed"), Delivery.last_error.set(reason), Delivery.next_attempt_at.remove()],
        Delivery.status.is_in("pending", "retrying"),
        "webhook delivery",
    )
    logger.info(
        "webhook delivery dropped",
        extra={"webhook_id": message.webhook_id, "attempt": message.attempt, "reason": reason},
    )


# --- the test ping ---------------------------------------------------------------------------


def send_test(
    webhook_id: str,
    *,
    resolve: Resolver | None = None,
    post: Poster = _post,
) -> DeliveryOut:
    """Delivers a `webhook.test` event now (one attempt here; a failure is retried like any delivery
    when the queue is configured) and answers its delivery record."""
    row = _row(webhook_id)
    occurred = utc_now()
    event_id = new_id("evt")
    body = WebhookPayload(
        id=event_id, type=TEST_EVENT, occurred_at=occurred, data={"webhook_id": webhook_id}
    ).model_dump_json()
    delivery = _open_delivery(row.sk, event_id, TEST_EVENT, occurred)
    if delivery is None:  # a fresh id: only a clash of random ids could get here
        raise RuntimeError("test delivery already exists")
    message = DeliveryMessage(webhook_id=webhook_id, delivery_sk=delivery.sk, attempt=1, body=body)
    deliver(message.model_dump_json(), resolve=resolve, post=post)
    seen = find(Delivery, delivery.pk, delivery.sk)
    return _delivery_out(seen or delivery)
