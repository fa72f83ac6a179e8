"""Telegram webhook: verify the secret, map an Update to an intake message, enqueue.

Telegram retries a webhook until it gets a 2xx, with the same `update_id`;
that id becomes the intake `message_id`, so retries map to the same appeal.
"""

from __future__ import annotations

import hmac
import re

from pydantic import ValidationError

from chalicelib.access.queue_signing import TELEGRAM_KEY_ID
from chalicelib.access.secrets import hash_secret
from chalicelib.channels import queue
from chalicelib.core.errors import NotFound, Unauthorized
from chalicelib.core.observability import logger
from chalicelib.models.sources import get_source_row
from chalicelib.schemas.appeals import MESSAGE_MAX_LENGTH
from chalicelib.schemas.common import NAME_MAX_LENGTH
from chalicelib.schemas.contact import normalised_phone, without_control_characters
from chalicelib.schemas.intake import IntakeLead, IntakeMessageV1
from chalicelib.schemas.telegram import TelegramMessage, TelegramUpdate, WebhookAck

__all__ = ["accept_update", "to_intake_message", "verify_secret"]

# Shown to operators for messages that carry no text.
_PLACEHOLDERS = (
    ("photo", "[photo]"),
    ("video", "[video]"),
    ("video_note", "[video message]"),
    ("voice", "[voice message]"),
    ("audio", "[audio]"),
    ("document", "[document]"),
    ("animation", "[GIF]"),
    ("location", "[location]"),
    ("poll", "[poll]"),
    ("contact", "[contact]"),
)


# What intake accepts; anything else Telegram sends there is left out rather than refusing the message.
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")

_REFUSED = "missing or wrong X-Telegram-Bot-Api-Secret-Token"
# Shown for a message whose text or caption is only whitespace (" ", "\u3000", "\u2028").
_BLANK = "[empty message]"


def verify_secret(source_id: str, header_token: str | None) -> str:
    """One answer for every secret problem (unknown source, a source without
    a secret, a missing or wrong one): strangers learn nothing about sources."""
    try:
        stored = get_source_row(source_id).telegram_secret_hash
    except NotFound:
        stored = None
    presented = hash_secret(header_token or "")
    # Compared even when nothing is stored, so the answer takes the same time.
    matches = hmac.compare_digest(presented, stored or "0" * len(presented))
    if not (stored and header_token and matches):
        raise Unauthorized(_REFUSED)
    return stored


def to_intake_message(source_id: str, update: TelegramUpdate) -> IntakeMessageV1 | None:
    """None for updates that are not a person's message (bot joins, channel posts…)."""
    message = update.message or update.edited_message
    if message is None or message.sender is None or message.sender.is_bot:
        return None
    sender = message.sender
    name = without_control_characters(" ".join(part for part in (sender.first_name, sender.last_name) if part))
    name = name.strip()
    phone = None
    if message.contact and message.contact.user_id == sender.id:
        phone = normalised_phone(message.contact.phone_number)
    text, media = _text_of(message)
    if update.edited_message is not None:
        text = f"[edited] {text}"
    chat_id = message.chat.id if message.chat is not None else sender.id
    username = sender.username if sender.username and _USERNAME.match(sender.username) else None
    language = sender.language_code if sender.language_code and _LANGUAGE.match(sender.language_code) else None
    return IntakeMessageV1(
        version=1,
        source_id=source_id,
        message_id=f"tg-update-{update.update_id}",
        lead=IntakeLead(
            external_id=f"tg:{sender.id}",
            name=name[:NAME_MAX_LENGTH] or None,
            phone=phone,
            username=username,
            language_code=language[:35] if language else None,
            chat_id=str(chat_id),
        ),
        text=text[:MESSAGE_MAX_LENGTH],
        media=media,
    )


def _text_of(message: TelegramMessage) -> tuple[str, str | None]:
    """The message's text (or a placeholder for what it carried) and its media kind, if any."""
    media = next((field for field, _ in _PLACEHOLDERS if getattr(message, field) is not None), None)
    if media is None and message.sticker is not None:
        media = "sticker"
    for written in (message.text, message.caption):
        if written:
            return (written if written.strip() else _BLANK), media
    if message.sticker is not None:
        return (f"[sticker {message.sticker.emoji}]" if message.sticker.emoji else "[sticker]"), media
    for field, placeholder in _PLACEHOLDERS:
        if field == media:
            return placeholder, media
    return "[unsupported message]", None


def accept_update(source_id: str, update: TelegramUpdate, *, secret_hash: str) -> WebhookAck:
    """Enqueues the update, signed with the source's webhook secret hash (`verify_secret` returned it)."""
    try:
        message = to_intake_message(source_id, update)
    except ValidationError as exc:
        # Something Telegram sent that our intake schema refuses: acknowledged and
        # dropped (a non-2xx makes Telegram resend it forever). Field paths only.
        fields = [".".join(map(str, error["loc"])) for error in exc.errors(include_input=False, include_url=False)]
        logger.warning("telegram update dropped", extra={"update_id": update.update_id, "fields": fields})
        return WebhookAck(ok=True, enqueued=False)
    if message is None:
        # Acknowledge anyway: a non-2xx makes Telegram resend it forever.
        return WebhookAck(ok=True, enqueued=False)
    queue.enqueue(message, key_id=TELEGRAM_KEY_ID, key_material=secret_hash)
    return WebhookAck(ok=True, enqueued=True, message_id=message.message_id)
