"""Connecting a source's own Telegram bot in one step, and disconnecting it.

Connect: `getMe` checks the token (Telegram refusing it is the caller's
mistake, a 422), a fresh webhook secret is generated (only its hash is kept,
as for a secret set by hand), the token goes to SSM Parameter Store
(write-only), then `setWebhook` points the bot's one webhook at this API's
`/channels/telegram/{source_id}` with that secret. Disconnect: `deleteWebhook`,
then the token and the secret are forgotten. The token is never returned or logged.
"""

from __future__ import annotations

import secrets

from chalicelib.access.secrets import forget_bot_token, hash_secret, read_bot_token, store_bot_token
from chalicelib.channels import telegram_api
from chalicelib.core.errors import FieldProblem, InvalidInput, NotFound, ServiceBusy
from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.transactions import update_existing
from chalicelib.models.sources import Source, get_source_row
from chalicelib.schemas.telegram import TelegramConnection

__all__ = ["WEBHOOK_PATH", "connect", "disconnect", "webhook_url"]

# The inbound route (chalicelib/api/telegram.py), below the stage's base URL.
WEBHOOK_PATH = "/channels/telegram/{source_id}"


def webhook_url(api_base_url: str, source_id: str) -> str:
    return api_base_url.rstrip("/") + WEBHOOK_PATH.format(source_id=source_id)


def connect(source_id: str, bot_token: str, *, api_base_url: str) -> TelegramConnection:
    get_source_row(source_id)
    try:
        bot = telegram_api.get_me(bot_token)
    except telegram_api.PermanentFailure as failure:
        problem = FieldProblem(("body", "bot_token"), "Telegram does not accept this token", "telegram_refused")
        raise InvalidInput(
            f"Telegram refused this bot token ({failure.description}); copy it again from @BotFather", [problem]
        ) from None
    except telegram_api.RetryLater:
        raise ServiceBusy("Telegram did not answer; retry shortly") from None
    secret = secrets.token_urlsafe(32)
    url = webhook_url(api_base_url, source_id)
    store_bot_token(source_id, bot_token)
    _set_bot(source_id, secret_hash=hash_secret(secret), username=bot.username, bot_id=bot.id)
    try:
        telegram_api.set_webhook(bot_token, url, secret_token=secret, allowed_updates=["message", "edited_message"])
    except telegram_api.PermanentFailure as failure:
        problem = FieldProblem(("body", "bot_token"), "Telegram refused the webhook", "telegram_refused")
        raise InvalidInput(f"Telegram refused the webhook {url}: {failure.description}", [problem]) from None
    except telegram_api.RetryLater:
        raise ServiceBusy("Telegram did not answer; retry shortly (the token is kept)") from None
    logger.info("telegram bot connected", extra={"source_id": source_id, "bot_id": bot.id})
    return TelegramConnection(source_id=source_id, bot_username=bot.username, bot_link=bot.link, webhook_url=url)


def disconnect(source_id: str) -> None:
    row = get_source_row(source_id)
    token = read_bot_token(source_id)
    if token is None and not row.telegram_bot_username:
        raise NotFound(f"source {source_id!r} has no connected Telegram bot")
    if token is not None:
        try:
            telegram_api.delete_webhook(token)
        except telegram_api.PermanentFailure:
            pass  # a revoked token has no webhook left to delete
        except telegram_api.RetryLater:
            raise ServiceBusy("Telegram did not answer; retry shortly (the bot is still connected)") from None
    forget_bot_token(source_id)
    _set_bot(source_id, secret_hash=None, username=None, bot_id=None)
    logger.info("telegram bot disconnected", extra={"source_id": source_id})


def _set_bot(source_id: str, *, secret_hash: str | None, username: str | None, bot_id: int | None) -> None:
    fields = {"telegram_secret_hash": secret_hash, "telegram_bot_username": username, "telegram_bot_id": bot_id}
    actions = [getattr(Source, k).set(v) if v is not None else getattr(Source, k).remove() for k, v in fields.items()]
    actions.append(Source.updated_at.set(iso(utc_now())))
    update_existing(Source(source_id), actions, "source")
