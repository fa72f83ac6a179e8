"""Replies to the lead: recorded once per client_message_id as the conversation's
next message (accepting the appeal when it is its operator's first response),
and what became of them (sent, failed, pending with the source's bot)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pynamodb.exceptions import UpdateError

from chalicelib.access.ownership import ensure_sees_appeal
from chalicelib.core.errors import Conflict, NotFound, ServiceBusy
from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.retry import tries
from chalicelib.db.transactions import Cancelled, Transaction
from chalicelib.models.appeals import Appeal, AppealStatus, get_appeal_row
from chalicelib.models.messages import (
    AppealMessage,
    DeliveryStatus,
    Direction,
    ReplyKey,
    Via,
    find_reply,
    get_message,
    last_seq_of,
    reply_key,
)
from chalicelib.routing import transitions
from chalicelib.routing.conversation import MESSAGE, outbound

if TYPE_CHECKING:
    from collections.abc import Callable

    from pynamodb.expressions.update import Action

    from chalicelib.access.principal import Principal
    from chalicelib.db.retry import RetryPolicy

__all__ = ["REPLY_KEY", "Recorded", "outbound_message", "record_delivery", "record_reply"]

REPLY_KEY = "reply_key"
_RETRY_LABELS = (transitions.APPEAL, MESSAGE, REPLY_KEY)


@dataclass(frozen=True)
class Recorded:
    """A reply as stored: `created` is False when its client_message_id had made it before."""

    appeal: Appeal
    message: AppealMessage
    created: bool


def record_reply(
    appeal_id: str,
    text: str,
    client_message_id: str,
    *,
    viewer: Principal,
    via: Callable[[Appeal], Via],
    policy: RetryPolicy | None = None,
) -> Recorded:
    """Stores an operator's (or an admin's) reply as the conversation's next
    message, `pending` until the channel says otherwise, once per
    client_message_id. It is the operator's first response: an appeal not
    accepted yet is accepted in the same transaction (the SLA clock stops)."""
    for _ in tries(policy):
        row = get_appeal_row(appeal_id)
        ensure_sees_appeal(row, viewer)
        earlier = find_reply(appeal_id, client_message_id)
        if earlier is not None:
            return Recorded(row, _same_reply(earlier, text), created=False)
        if row.status not in (AppealStatus.WAITING, AppealStatus.ACTIVE):
            raise Conflict(f"appeal {appeal_id} is {row.status}; replies go to open appeals")
        now = utc_now()
        at = iso(now)
        message = outbound(
            row,
            last_seq_of(row) + 1,
            text,
            author=viewer.operator_id,
            client_message_id=client_message_id,
            at=at,
            via=via(row),
        )
        tx = Transaction()
        after = row
        if row.status == AppealStatus.ACTIVE and row.operator_id and row.accepted_at is None:
            after = transitions.accept(tx, row, row.operator_id, now=now)
        else:
            after = transitions.record_activity(tx, row, now=now)  # a reply is activity: follow-up starts again
        after = transitions.add_reply(tx, after, message)
        tx.put(
            REPLY_KEY,
            ReplyKey(reply_key(appeal_id, client_message_id), message_seq=message.seq),
            ReplyKey.appeal_id.does_not_exist(),
        )
        try:
            tx.commit()
        except Cancelled as failure:
            if (
                failure.failed(transitions.APPEAL)
                or failure.failed(MESSAGE)
                or failure.failed(REPLY_KEY)
                or failure.contended
            ):
                continue  # closed, accepted, a message or the same reply came first: look again
            raise
        logger.info(
            "reply recorded",
            extra={
                "appeal_id": appeal_id,
                "source_id": row.source_id,
                "seq": int(message.seq),
                "accepted": after.accepted_at is not None and row.accepted_at is None,
            },
        )
        return Recorded(after, message, created=True)
    raise ServiceBusy("this conversation is changing too fast; retry shortly")


def _same_reply(earlier: AppealMessage, text: str) -> AppealMessage:
    if earlier.text != text:
        raise Conflict("this client_message_id was already used for a different text")
    return earlier


def record_delivery(
    message: AppealMessage,
    status: DeliveryStatus,
    *,
    error: str | None = None,
    retryable: bool | None = None,
    channel_message_id: str | None = None,
) -> AppealMessage:
    """What became of an outbound message. A final word (sent) is never overwritten by a late failure."""
    at = iso(utc_now())
    actions: list[Action] = [
        AppealMessage.status.set(status),
        AppealMessage.updated_at.set(at),
        AppealMessage.error.set(error) if error else AppealMessage.error.remove(),
        AppealMessage.retryable.set(retryable) if retryable is not None else AppealMessage.retryable.remove(),
    ]
    if channel_message_id:
        actions.append(AppealMessage.channel_message_id.set(channel_message_id))
    condition = (AppealMessage.direction == Direction.OUT) & (AppealMessage.status != DeliveryStatus.SENT)
    try:
        message.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        current = get_message(message.message_of, int(message.seq))
        if current is None:
            raise
        if current.status == DeliveryStatus.SENT and status == DeliveryStatus.SENT:
            return current
        raise Conflict("this message was already delivered") from None
    return message


def outbound_message(appeal_id: str, seq: int, *, viewer: Principal) -> tuple[Appeal, AppealMessage]:
    """An outbound message of an appeal the viewer may act on (a bot: of its own source)."""
    row = get_appeal_row(appeal_id)
    if viewer.role == "bot":
        if row.source_id != viewer.source_id:
            raise NotFound.entity("appeal", appeal_id)
    else:
        ensure_sees_appeal(row, viewer)
    message = get_message(appeal_id, seq)
    if message is None or message.direction != Direction.OUT:
        raise NotFound(f"appeal {appeal_id} has no outbound message {seq}")
    return row, message
