"""The notifications table: what the operator bot and the outgoing webhooks keep, and every query on it.

One table, keyed `pk` + `sk`, holding small items of several kinds (each a
model below, all on the same table):

- `sent#<event id>#<channel>`: a per-event "sent" marker, written under a
  condition before a notification goes out and kept for 7 days (TTL): a
  redelivered stream batch finds it and sends nothing twice;
- `tgmsg#<appeal id>` / `<operator id>`: the Telegram message an operator got
  about an appeal, so a later change edits it;
- `link#<sha256 of a code>`: a one-time linking code (15 minutes, single use);
- `chat#<chat id>`: which operator a Telegram chat is linked to;
- `webhooks` / `<webhook id>`: a webhook subscription;
- `deliveries#<webhook id>` / `<occurred_at>#<delivery id>`: one event's delivery to one webhook and
  its attempts (30 days, TTL), listed newest first.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.db.paging import decode_cursor, encode_cursor, take_page
from chalicelib.db.tables import TableMeta, TableName

__all__ = [
    "ONE",
    "WEBHOOKS",
    "Attempt",
    "ChatLink",
    "Delivery",
    "LinkCode",
    "SentMarker",
    "TelegramNote",
    "WebhookSubscription",
    "all_webhooks",
    "appeal_of_notice",
    "chat_key",
    "deliveries_key",
    "deliveries_newest_first",
    "delivery_sort_key",
    "find",
    "link_key",
    "notice_reply_key",
    "sent_key",
    "telegram_note_key",
    "telegram_notes",
    "webhooks_newest_first",
]

# The sort key of items that are alone in their partition.
ONE = "-"
WEBHOOKS = "webhooks"
_M = TypeVar("_M", bound=Model)


class _Meta(TableMeta):
    table_name = TableName("notifications")


class SentMarker(Model):
    """A notification claimed (`claimed`) or done (`sent`) for one event on one channel."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=ONE)
    state = UnicodeAttribute()
    claimed_at = NumberAttribute()
    expires_at = NumberAttribute()  # TTL


class TelegramNote(Model):
    """The message an operator got about an appeal (edited when the appeal moves on)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # the operator id
    chat_id = NumberAttribute()
    message_id = NumberAttribute()
    locale = UnicodeAttribute(null=True)
    source_name = UnicodeAttribute(null=True)
    expires_at = NumberAttribute()  # TTL


class LinkCode(Model):
    """A one-time code linking a Telegram chat to an operator. Only its hash is stored."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=ONE)
    operator_id = UnicodeAttribute()
    valid_until = NumberAttribute()
    used_at = NumberAttribute(null=True)
    expires_at = NumberAttribute()  # TTL, a day after validity ends


class ChatLink(Model):
    """Which operator a chat is linked to (believed only while the operator row names the chat too)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=ONE)
    operator_id = UnicodeAttribute()


class WebhookSubscription(Model):
    """An outgoing webhook: where to POST which events, and the key its deliveries are signed with."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, default=WEBHOOKS)
    sk = UnicodeAttribute(range_key=True)  # the webhook id (time-sortable)
    url = UnicodeAttribute()
    events = ListAttribute[str](of=UnicodeAttribute)  # type: ignore[arg-type]
    description = UnicodeAttribute(null=True)
    # The hex SHA-256 of the secret shown once: the HMAC key (as a bot key's hash signs queue messages).
    secret_hash = UnicodeAttribute()
    include_contact = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()


class Attempt(MapAttribute[str, Any]):
    """One POST of a delivery: when, what the receiver answered (or why there was no answer)."""

    number = NumberAttribute()
    at = UnicodeAttribute()
    status_code = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    duration_ms = NumberAttribute(null=True)

    def __init__(self, **attributes: Any) -> None:  # typed: PynamoDB's is not
        super().__init__(**attributes)  # type: ignore[no-untyped-call]


class Delivery(Model):
    """One event for one subscription: its state and every attempt (the body travels in the queue message)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # deliveries#<webhook id>
    sk = UnicodeAttribute(range_key=True)  # <event's occurred_at>#<delivery id>: newest first by query
    delivery_id = UnicodeAttribute()
    webhook_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    status = UnicodeAttribute()  # pending, retrying, delivered, failed
    attempts = NumberAttribute(default=0)
    attempt_log = ListAttribute[Attempt](of=Attempt, null=True)
    last_status_code = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    next_attempt_at = UnicodeAttribute(null=True)
    delivered_at = UnicodeAttribute(null=True)
    # A run holding the next attempt until then (unix seconds): a duplicate message finds it and does nothing.
    lease_until = NumberAttribute(null=True)
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL: 30 days


def sent_key(event_id: str, channel: str) -> str:
    return f"sent#{event_id}#{channel}"


def telegram_note_key(appeal_id: str) -> str:
    return f"tgmsg#{appeal_id}"


def notice_reply_key(chat_id: int, message_id: int) -> str:
    """A `TelegramNote` under this key (sort key: the appeal id) says which appeal an
    operator's message is about, so a reply to it reaches that appeal's lead."""
    return f"tgreply#{chat_id}#{message_id}"


def appeal_of_notice(chat_id: int, message_id: int) -> str | None:
    """The appeal an operator-bot message was about, if it was an assignment notice."""
    for note in TelegramNote.query(notice_reply_key(chat_id, message_id), consistent_read=True, limit=1):
        return str(note.sk)
    return None


def link_key(code_hash: str) -> str:
    return f"link#{code_hash}"


def chat_key(chat_id: int) -> str:
    return f"chat#{chat_id}"


def deliveries_key(webhook_id: str) -> str:
    return f"deliveries#{webhook_id}"


def find(model: type[_M], pk: str, sk: str | None = ONE) -> _M | None:
    """One item by key, read consistently, or None (`sk=None` for a table without a sort key)."""
    try:
        return model.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None


def telegram_notes(appeal_id: str) -> list[TelegramNote]:
    """Every operator's message about an appeal (a handful: one per operator it was handed to)."""
    return list(TelegramNote.query(telegram_note_key(appeal_id), consistent_read=True))


def delivery_sort_key(occurred_at: str, delivery_id: str) -> str:
    return f"{occurred_at}#{delivery_id}"


def webhooks_newest_first(limit: int, cursor: str | None) -> tuple[list[WebhookSubscription], str | None]:
    """One page of subscriptions, newest first (their ids sort by creation)."""
    start, _ = decode_cursor(cursor, ("pk", "sk"), pinned={"pk": WEBHOOKS})

    def query(**kw: Any) -> Any:
        return WebhookSubscription.query(WEBHOOKS, scan_index_forward=False, consistent_read=True, **kw)

    rows, last = take_page(query, limit, start)
    return rows, encode_cursor(last)


def all_webhooks() -> list[WebhookSubscription]:
    """Every subscription (one partition, one Query: a handful of rows, never a Scan)."""
    return list(WebhookSubscription.query(WEBHOOKS))


def deliveries_newest_first(webhook_id: str, limit: int, cursor: str | None) -> tuple[list[Delivery], str | None]:
    """One page of a webhook's deliveries, the newest event first."""
    partition = deliveries_key(webhook_id)
    start, _ = decode_cursor(cursor, ("pk", "sk"), pinned={"pk": partition})

    def query(**kw: Any) -> Any:
        return Delivery.query(partition, scan_index_forward=False, consistent_read=True, **kw)

    rows, last = take_page(query, limit, start)
    return rows, encode_cursor(last)
