"""Answering the lead from the CRM: a reply is recorded once (`routing.replies`),
then delivered through the appeal's channel.

A source with a connected Telegram bot sends it at once, through that bot, to
the lead's chat, and the outcome is recorded: `sent` with Telegram's message
id, or `failed` with a reason in words. A permanent refusal (the lead blocked
the bot, the chat is gone) is never retried; a 429 is waited out once (as
Telegram asks, up to a few seconds) and then recorded as a retryable failure,
like a 5xx or a lost connection. Any other source's bot learns of the reply
from the `message.outbound` event (the appeals stream) and reports back with
`POST /appeals/{id}/messages/{message_id}/status`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pynamodb.exceptions import DoesNotExist

from chalicelib.access.secrets import read_bot_token
from chalicelib.channels import telegram_api
from chalicelib.core.observability import logger
from chalicelib.models.leads import LeadContacts, contacts_key
from chalicelib.models.messages import DeliveryStatus, Via
from chalicelib.models.sources import get_source_row
from chalicelib.routing import replies
from chalicelib.routing.conversation import message_out

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal
    from chalicelib.models.appeals import Appeal
    from chalicelib.models.messages import AppealMessage
    from chalicelib.models.sources import Source
    from chalicelib.schemas.messages import DeliveryReport, MessageOut, ReplyCreate

__all__ = ["BLOCKED", "MAX_WAIT_SECONDS", "report_delivery", "send_reply"]

# Longer pauses than this are not waited out inside a request: the reply fails as retryable.
MAX_WAIT_SECONDS = 5.0
BLOCKED = "blocked: the lead blocked the bot"


def send_reply(appeal_id: str, request: ReplyCreate, *, viewer: Principal) -> tuple[MessageOut, bool]:
    """Records the reply (once per client_message_id) and delivers it; answers (message, created)."""
    sources: dict[str, Source] = {}

    def via(appeal: Appeal) -> Via:
        source = sources.setdefault(appeal.source_id, get_source_row(appeal.source_id))
        return Via.TELEGRAM if source.telegram_bot_username else Via.SOURCE_BOT

    recorded = replies.record_reply(appeal_id, request.text, request.client_message_id, viewer=viewer, via=via)
    message = recorded.message
    if recorded.created and message.via == Via.TELEGRAM:
        message = _deliver(recorded.appeal, message)
    return message_out(message), recorded.created


def report_delivery(appeal_id: str, seq: int, report: DeliveryReport, *, viewer: Principal) -> MessageOut:
    """A source's bot says what became of an outbound message it was asked to deliver."""
    _, message = replies.outbound_message(appeal_id, seq, viewer=viewer)
    status = DeliveryStatus(report.status)
    updated = replies.record_delivery(
        message,
        status,
        error=report.error if status == DeliveryStatus.FAILED else None,
        retryable=report.retryable if status == DeliveryStatus.FAILED else None,
        channel_message_id=report.channel_message_id,
    )
    return message_out(updated)


def _deliver(appeal: Appeal, message: AppealMessage) -> AppealMessage:
    """Sends through the source's connected Telegram bot and records what happened."""
    token = read_bot_token(appeal.source_id)
    chat_id = _chat_of(appeal)
    ids = {"appeal_id": appeal.appeal_id, "source_id": appeal.source_id, "seq": int(message.seq)}
    if token is None or chat_id is None:
        why = "the source's bot is not connected" if token is None else "no chat with the lead is known"
        logger.warning("reply not sent", extra={**ids, "reason": why})
        return replies.record_delivery(message, DeliveryStatus.FAILED, error=why, retryable=False)
    try:
        sent = _send(token, chat_id, message.text)
    except telegram_api.PermanentFailure as failure:
        reason = BLOCKED if "blocked" in failure.reason.lower() else failure.reason
        logger.warning("reply not sent", extra={**ids, "reason": reason, "error_code": failure.error_code})
        return replies.record_delivery(message, DeliveryStatus.FAILED, error=reason, retryable=False)
    except telegram_api.RetryLater as failure:
        reason = f"retryable: {failure.description}"
        logger.warning("reply not sent", extra={**ids, "reason": "retryable", "error_code": failure.error_code})
        return replies.record_delivery(message, DeliveryStatus.FAILED, error=reason, retryable=True)
    logger.info("reply sent", extra=ids)
    return replies.record_delivery(message, DeliveryStatus.SENT, channel_message_id=str(sent.message_id))


def _send(token: str, chat_id: str, text: str) -> telegram_api.Message:
    """One send, and one more after a 429's pause when Telegram asks for a short one."""
    try:
        return telegram_api.send_message(token, chat_id, text, parse_mode=None)
    except telegram_api.RetryLater as failure:
        if failure.error_code != 429 or failure.retry_after is None or failure.retry_after > MAX_WAIT_SECONDS:
            raise
        time.sleep(failure.retry_after)
    return telegram_api.send_message(token, chat_id, text, parse_mode=None)


def _chat_of(appeal: Appeal) -> str | None:
    """The lead's chat with this source's bot: what its intake recorded, else a Telegram user's own id
    (a private chat's id is the user's)."""
    try:
        recorded = LeadContacts.get(contacts_key(appeal.lead_id, appeal.source_id), consistent_read=True).chat_id
    except DoesNotExist:
        recorded = None
    if recorded:
        return str(recorded)
    external = appeal.lead_external_id
    if external.startswith("tg:") and external[3:].lstrip("-").isdigit():
        return external[3:]
    return None
