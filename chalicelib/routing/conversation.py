"""An appeal's conversation: adding a message (inbound or outbound) to a
transaction, written once, and reading it page by page, oldest first.

Every message is its own item (`models.messages`) with the next sequence
number of its appeal; the put is conditional on that key being free, so two
writers that read the same `last_seq` cannot both take it: one transaction
is cancelled (label `message`) and its caller reads again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.access.ownership import ensure_sees_appeal
from chalicelib.core.errors import MalformedInput
from chalicelib.models.appeals import Appeal, get_appeal_row
from chalicelib.models.messages import (
    AppealMessage,
    DeliveryStatus,
    Direction,
    Via,
    last_seq_of,
    message_key,
    messages_between,
)
from chalicelib.schemas.common import Page
from chalicelib.schemas.messages import MessageOut

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal
    from chalicelib.db.transactions import Transaction

__all__ = [
    "MESSAGE",
    "Inbound",
    "add_message",
    "inbound",
    "list_messages",
    "message_out",
    "outbound",
]

MESSAGE = "message"


@dataclass(frozen=True)
class Inbound:
    """What a lead's message says, as intake received it."""

    text: str
    sender: str
    channel_message_id: str | None = None
    media: str | None = None


def inbound(appeal_id: str, seq: int, message: Inbound, at: str) -> AppealMessage:
    return AppealMessage(
        message_key(appeal_id, seq),
        message_of=appeal_id,
        seq=seq,
        direction=Direction.IN,
        text=message.text,
        media=message.media,
        channel_message_id=message.channel_message_id,
        sender=message.sender,
        created_at=at,
    )


def outbound(
    row: Appeal, seq: int, text: str, *, author: str | None, client_message_id: str, at: str, via: Via
) -> AppealMessage:
    return AppealMessage(
        message_key(row.appeal_id, seq),
        message_of=row.appeal_id,
        seq=seq,
        direction=Direction.OUT,
        text=text,
        sender=author,
        author_operator_id=author,
        client_message_id=client_message_id,
        source_id=row.source_id,
        via=via,
        status=DeliveryStatus.PENDING,
        created_at=at,
        updated_at=at,
    )


def add_message(tx: Transaction, message: AppealMessage) -> None:
    """The message takes its sequence number, if nobody took it first."""
    tx.put(MESSAGE, message, AppealMessage.appeal_id.does_not_exist())


def message_out(row: AppealMessage) -> MessageOut:
    return MessageOut(
        id=int(row.seq),
        appeal_id=row.message_of,
        direction=Direction(row.direction),
        text=row.text,
        media=row.media,
        channel_message_id=row.channel_message_id,
        sender=row.sender,
        created_at=row.created_at,
        status=DeliveryStatus(row.status) if row.status else None,
        error=row.error,
        retryable=row.retryable,
        client_message_id=row.client_message_id,
        author_operator_id=row.author_operator_id,
        updated_at=row.updated_at,
    )


def list_messages(appeal_id: str, limit: int, cursor: str | None, *, viewer: Principal) -> Page[MessageOut]:
    """A page of the conversation, oldest first; the cursor is the next sequence number.
    Costs one GetItem (the appeal: who may read it, how long it is) and one BatchGetItem."""
    row = get_appeal_row(appeal_id)
    ensure_sees_appeal(row, viewer)
    first = _cursor_seq(cursor)
    last_seq = last_seq_of(row)
    last = min(first + limit - 1, last_seq)
    items = [message_out(message) for message in messages_between(appeal_id, first, last)]
    return Page[MessageOut](items=items, next=str(last + 1) if last < last_seq else None)


def _cursor_seq(cursor: str | None) -> int:
    if cursor is None:
        return 1
    if not cursor.isdigit() or not 1 <= int(cursor) <= 10**6:
        raise MalformedInput("cursor is not valid; pass back the `next` value unchanged")
    return int(cursor)
