"""An appeal's conversation, kept in the appeals table: one item per message
(`msg#<appeal_id>#<sequence, zero-padded>`), the reply keys that make replies
idempotent, the words stored in them and every read of them.

Why the appeals table and no table of its own: a message is written in the same
transaction as its appeal (intake) or its appeal's counter (a follow-up, a
reply), and its key is computed from the appeal's id and the appeal's
`last_seq`, so a page of the conversation is one BatchGetItem of known keys
(no index, no Query, no Scan) and a deployment needs no new table, policy or
stream. None of the appeals table's index keys is set on these items, so no
index sees them, and the stream consumer tells them apart by their key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.db.tables import TableMeta, TableName, Word

if TYPE_CHECKING:
    from chalicelib.models.appeals import Appeal

__all__ = [
    "MESSAGE_PREFIX",
    "AppealMessage",
    "DeliveryStatus",
    "Direction",
    "ReplyKey",
    "Via",
    "find_reply",
    "get_message",
    "last_seq_of",
    "message_key",
    "messages_between",
    "reply_key",
]

MESSAGE_PREFIX = "msg#"
# Sequence numbers are zero-padded so keys sort like the conversation.
_SEQ_WIDTH = 6


class Via(Word):
    """Who delivers an outbound message."""

    TELEGRAM = "telegram"
    SOURCE_BOT = "source_bot"


class Direction(Word):
    IN = "in"  # from the lead
    OUT = "out"  # to the lead, written by an operator


class DeliveryStatus(Word):
    """Where an outbound message stands."""

    PENDING = "pending"  # handed to the source's bot (an event), not confirmed yet
    SENT = "sent"
    FAILED = "failed"


class AppealMessage(Model):
    """One message of an appeal's conversation. The text is personal data: never logged."""

    class Meta(TableMeta):
        table_name = TableName("appeals")

    appeal_id = UnicodeAttribute(hash_key=True)  # the key: msg#<appeal id>#<seq>
    message_of = UnicodeAttribute()  # the appeal
    seq = NumberAttribute()
    direction = UnicodeAttribute()
    text = UnicodeAttribute()
    # What kind of media the message carried ("photo", "voice"...); the text is then its placeholder.
    media = UnicodeAttribute(null=True)
    channel_message_id = UnicodeAttribute(null=True)
    # Inbound: the lead's external id; outbound: the operator who wrote it.
    sender = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    # Outbound only:
    status = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    retryable = BooleanAttribute(null=True)
    client_message_id = UnicodeAttribute(null=True)
    author_operator_id = UnicodeAttribute(null=True)
    source_id = UnicodeAttribute(null=True)
    # Who delivers it: "telegram" (the source's connected bot, sent by us) or "source_bot"
    # (the source's own bot, told by the `message.outbound` event).
    via = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)


class ReplyKey(Model):
    """`reply#<appeal id>#<client_message_id>` -> the message it made: a retried
    reply finds its message instead of sending twice."""

    class Meta(TableMeta):
        table_name = TableName("appeals")

    appeal_id = UnicodeAttribute(hash_key=True)
    message_seq = NumberAttribute()


def message_key(appeal_id: str, seq: int) -> str:
    return f"{MESSAGE_PREFIX}{appeal_id}#{seq:0{_SEQ_WIDTH}d}"


def reply_key(appeal_id: str, client_message_id: str) -> str:
    return f"reply#{appeal_id}#{client_message_id}"


def last_seq_of(row: Appeal) -> int:
    """The sequence of the appeal's latest message (appeals older than the
    conversation store counted only inbound messages)."""
    return int(row.last_seq or row.message_count or 1)


def messages_between(appeal_id: str, first: int, last: int) -> list[AppealMessage]:
    """Messages `first..last` (inclusive) in order: one BatchGetItem of known keys."""
    if last < first:
        return []
    keys = [message_key(appeal_id, seq) for seq in range(first, last + 1)]
    found = {int(row.seq): row for row in AppealMessage.batch_get(keys, consistent_read=True)}
    return [found[seq] for seq in sorted(found)]


def get_message(appeal_id: str, seq: int) -> AppealMessage | None:
    try:
        return AppealMessage.get(message_key(appeal_id, seq), consistent_read=True)
    except DoesNotExist:
        return None


def find_reply(appeal_id: str, client_message_id: str) -> AppealMessage | None:
    """The message a client_message_id made on this appeal, if any."""
    try:
        key = ReplyKey.get(reply_key(appeal_id, client_message_id), consistent_read=True)
    except DoesNotExist:
        return None
    return get_message(appeal_id, int(key.message_seq))
