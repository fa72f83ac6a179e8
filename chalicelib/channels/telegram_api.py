"""Telegram Bot API client: the calls our bots make, typed results, failures classified for retries.

Owns the HTTP transport to the Bot API (one lazily built, reused urllib3 pool;
bounded timeouts; the base URL read from `TELEGRAM_API_BASE` at call time), the
typed results, and the classification of every failure into `RetryLater`
(429, 5xx, timeouts, connection errors: try again, honouring `retry_after`)
or `PermanentFailure` (400/401/403/404/409...: retrying cannot help).
"Message is not modified" is a `MessageNotModified`, which the edit calls
answer as an unchanged success.

The bot token is passed in per call, never stored or logged, and scrubbed
from every exception text (it is part of the request URL, which urllib3
would otherwise quote in its errors).
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from typing import TYPE_CHECKING, Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import urllib3

__all__ = [
    "CALLBACK_DATA_MAX_BYTES",
    "CALLBACK_TEXT_MAX_LENGTH",
    "DEFAULT_API_BASE",
    "MESSAGE_MAX_LENGTH",
    "SECRET_TOKEN_PATTERN",
    "TIMEOUT_SECONDS",
    "BotUser",
    "Chat",
    "EditResult",
    "InlineKeyboardButton",
    "InlineKeyboardMarkup",
    "Message",
    "MessageNotModified",
    "PermanentFailure",
    "RetryLater",
    "TelegramError",
    "User",
    "WebhookInfo",
    "answer_callback_query",
    "api_base",
    "call",
    "delete_webhook",
    "edit_message_reply_markup",
    "edit_message_text",
    "get_me",
    "get_webhook_info",
    "send_message",
    "set_webhook",
]

DEFAULT_API_BASE = "https://api.telegram.org"
API_BASE_ENV = "TELEGRAM_API_BASE"
# A Lambda waiting on Telegram holds a stream shard: a call never takes longer than this.
TIMEOUT_SECONDS = 5.0
_CONNECT_TIMEOUT_SECONDS = 3.0
# Telegram's own limits (Bot API: sendMessage text, callback_data, answerCallbackQuery text).
MESSAGE_MAX_LENGTH = 4096
CALLBACK_DATA_MAX_BYTES = 64
CALLBACK_TEXT_MAX_LENGTH = 200
# setWebhook's secret_token: 1-256 characters, only A-Z, a-z, 0-9, _ and -.
SECRET_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# "<bot id>:<secret>". Anything else would change the request path (a "/" or "?"
# in it), so it is refused before any request is made.
_TOKEN_PATTERN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{1,200}$")
_DESCRIPTION_MAX_LENGTH = 300
_REDACTED = "<redacted>"
_T = TypeVar("_T", bound=BaseModel)


# --- errors ------------------------------------------------------------------------------


class TelegramError(Exception):
    """A Bot API call that did not succeed. The text never contains the bot token."""

    def __init__(self, method: str, description: str, error_code: int | None = None) -> None:
        super().__init__(f"Telegram {method}: {description}" + (f" ({error_code})" if error_code else ""))
        self.method = method
        self.description = description
        self.error_code = error_code


class RetryLater(TelegramError):
    """Try again later: 429 (wait `retry_after` seconds, as Telegram says), 5xx, a timeout or a lost connection.

    `retry_after` is None when Telegram gave no figure: the caller's own backoff decides.
    """

    def __init__(
        self, method: str, description: str, error_code: int | None = None, *, retry_after: float | None = None
    ) -> None:
        super().__init__(method, description, error_code)
        self.retry_after = retry_after


class PermanentFailure(TelegramError):
    """Retrying the same call cannot help: a blocked bot, an unknown chat, a bad request, a revoked token.

    `reason` is Telegram's description (e.g. "Forbidden: bot was blocked by the user"),
    fit to show as a delivery status.
    """

    def __init__(
        self,
        method: str,
        description: str,
        error_code: int | None = None,
        *,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(method, description, error_code)
        self.migrate_to_chat_id = migrate_to_chat_id

    @property
    def reason(self) -> str:
        return self.description

    @property
    def recipient_unreachable(self) -> bool:
        """The chat cannot receive anything from this bot (blocked, deleted, never started, kicked)."""
        text = self.description.lower()
        return any(
            marker in text
            for marker in (
                "bot was blocked by the user",
                "user is deactivated",
                "chat not found",
                "bot was kicked",
                "bot can't initiate conversation",
                "bot is not a member",
            )
        )

    @property
    def unauthorized(self) -> bool:
        """The token is wrong or revoked (Telegram answers 401 or 404 for the whole bot)."""
        return self.error_code in (401, 404) and "chat" not in self.description.lower()


class MessageNotModified(PermanentFailure):
    """An edit that would leave the message as it is: for an edit, that is success (see `EditResult`)."""


# --- results -----------------------------------------------------------------------------


class _TelegramObject(BaseModel):
    # Telegram adds fields over time: unknown ones are ignored.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)


class User(_TelegramObject):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class BotUser(User):
    """getMe's answer: the bot itself."""

    can_join_groups: bool | None = None
    can_read_all_group_messages: bool | None = None
    supports_inline_queries: bool | None = None

    @property
    def link(self) -> str | None:
        """The bot's t.me link, the base of deep links (`?start=<code>`)."""
        return f"https://t.me/{self.username}" if self.username else None


class Chat(_TelegramObject):
    id: int
    type: str = "private"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None


class Message(_TelegramObject):
    message_id: int
    date: int = 0
    chat: Chat
    sender: User | None = Field(default=None, alias="from")
    text: str | None = None


class WebhookInfo(_TelegramObject):
    url: str = ""
    has_custom_certificate: bool = False
    pending_update_count: int = 0
    last_error_date: int | None = None
    last_error_message: str | None = None
    max_connections: int | None = None
    allowed_updates: tuple[str, ...] | None = None


class EditResult(_TelegramObject):
    """An edit's outcome. `changed` is False when Telegram said "message is not modified"
    (the message already reads that way: a repeated edit is a success, not an error)."""

    changed: bool
    message: Message | None = None


class InlineKeyboardButton(BaseModel):
    """A button under a message: either callback data (at most 64 bytes) or a URL."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    text: str = Field(min_length=1)
    callback_data: str | None = None
    url: str | None = None

    @field_validator("callback_data")
    @classmethod
    def _fits_telegram(cls, value: str | None) -> str | None:
        if value is not None and not 1 <= len(value.encode()) <= CALLBACK_DATA_MAX_BYTES:
            raise ValueError(f"callback_data must be 1-{CALLBACK_DATA_MAX_BYTES} bytes")
        return value

    @model_validator(mode="after")
    def _one_action(self) -> Self:
        if (self.callback_data is None) == (self.url is None):
            raise ValueError("a button has exactly one of callback_data and url")
        return self


class InlineKeyboardMarkup(BaseModel):
    """Rows of inline buttons. An empty markup removes a message's buttons."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    inline_keyboard: tuple[tuple[InlineKeyboardButton, ...], ...] = ()

    @classmethod
    def rows(cls, *rows: Sequence[InlineKeyboardButton]) -> InlineKeyboardMarkup:
        return cls(inline_keyboard=tuple(tuple(row) for row in rows if row))

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


# --- configuration and transport ---------------------------------------------------------


def api_base() -> str:
    """The Bot API's base URL, read now (tests and `make run` point it at a fake)."""
    return (os.environ.get(API_BASE_ENV) or DEFAULT_API_BASE).rstrip("/")


_pool: urllib3.PoolManager | None = None
_pool_lock = threading.Lock()


def _http() -> urllib3.PoolManager:
    """One pool per process, built on first use (urllib3 ships with botocore)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                import urllib3

                _pool = urllib3.PoolManager(
                    num_pools=4,
                    maxsize=8,
                    retries=False,
                    timeout=urllib3.Timeout(total=TIMEOUT_SECONDS, connect=_CONNECT_TIMEOUT_SECONDS),
                )
    return _pool


def _redact(text: str, token: str) -> str:
    text = text.replace(token, _REDACTED)
    _, _, secret = token.partition(":")
    return text.replace(secret, _REDACTED) if len(secret) >= 8 else text


def call(token: str, method: str, params: Mapping[str, Any] | None = None) -> Any:
    """POSTs `params` as JSON to `method` and answers Telegram's `result`, or raises a classified error."""
    if not _TOKEN_PATTERN.match(token):
        raise PermanentFailure(method, "malformed bot token (expected <digits>:<secret>)")
    url = f"{api_base()}/bot{token}/{method}"
    body = json.dumps(dict(params or {}), ensure_ascii=False, separators=(",", ":")).encode()
    # The transport's exception texts quote the URL, hence the token: keep only a
    # scrubbed text, and raise outside the `except` so no chained exception keeps it.
    transport_failure: str | None = None
    try:
        response = _http().request(
            "POST", url, body=body, headers={"Content-Type": "application/json"}, preload_content=True
        )
    except Exception as exc:  # urllib3's HTTPError family, plus OSError underneath
        transport_failure = _redact(f"{type(exc).__name__}: {exc}", token)[:_DESCRIPTION_MAX_LENGTH]
    if transport_failure is not None:
        raise RetryLater(method, f"no answer from the Bot API ({transport_failure})")
    return _result(method, token, response.status, response.data, response.headers.get("Retry-After"))


def _result(method: str, token: str, status: int, raw: bytes, retry_after_header: str | None) -> Any:
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        payload = {}
    if status < 300 and payload.get("ok") is True:
        return payload.get("result")
    error_code = payload.get("error_code")
    code = error_code if isinstance(error_code, int) else status
    described = payload.get("description")
    description = _redact(str(described) if described else f"HTTP {status}", token)[:_DESCRIPTION_MAX_LENGTH]
    raw_parameters = payload.get("parameters")
    parameters: Mapping[str, Any] = raw_parameters if isinstance(raw_parameters, dict) else {}
    if code == 429 or status == 429:
        raise RetryLater(method, description, 429, retry_after=_seconds(parameters, retry_after_header))
    if code >= 500 or status >= 500 or code < 400:
        # A proxy's 502 page, a 200 that is not `ok`: nothing says a retry would fail.
        raise RetryLater(method, description, code)
    if "message is not modified" in description.lower():
        raise MessageNotModified(method, description, code)
    migrate = parameters.get("migrate_to_chat_id")
    raise PermanentFailure(method, description, code, migrate_to_chat_id=migrate if isinstance(migrate, int) else None)


def _seconds(parameters: Mapping[str, Any], header: str | None) -> float | None:
    for raw in (parameters.get("retry_after"), header):
        try:
            value = float(raw) if raw is not None else None
        except (TypeError, ValueError):
            value = None
        if value is not None and math.isfinite(value) and value >= 0:
            return value
    return None


def _typed(model: type[_T], method: str, result: Any) -> _T:
    try:
        return model.model_validate(result)
    except ValidationError:
        # A 200 we cannot read: a misconfigured TELEGRAM_API_BASE, most likely.
        raise RetryLater(method, f"unexpected result shape for {model.__name__}") from None


# --- methods -----------------------------------------------------------------------------


def get_me(token: str) -> BotUser:
    """Checks a token and names its bot (a wrong or revoked token: PermanentFailure, `unauthorized`)."""
    return _typed(BotUser, "getMe", call(token, "getMe"))


def set_webhook(
    token: str,
    url: str,
    *,
    secret_token: str,
    allowed_updates: Sequence[str] | None = None,
    drop_pending_updates: bool = False,
    max_connections: int | None = None,
) -> None:
    """Points the bot's one webhook at `url`; Telegram then sends `secret_token` in
    `X-Telegram-Bot-Api-Secret-Token` with every update."""
    if not SECRET_TOKEN_PATTERN.match(secret_token):
        raise ValueError("secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    params: dict[str, Any] = {"url": url, "secret_token": secret_token}
    if allowed_updates is not None:
        params["allowed_updates"] = list(allowed_updates)
    if drop_pending_updates:
        params["drop_pending_updates"] = True
    if max_connections is not None:
        params["max_connections"] = max_connections
    call(token, "setWebhook", params)


def delete_webhook(token: str, *, drop_pending_updates: bool = False) -> None:
    call(token, "deleteWebhook", {"drop_pending_updates": True} if drop_pending_updates else {})


def get_webhook_info(token: str) -> WebhookInfo:
    return _typed(WebhookInfo, "getWebhookInfo", call(token, "getWebhookInfo"))


def send_message(
    token: str,
    chat_id: int | str,
    text: str,
    *,
    parse_mode: str | None = "HTML",
    reply_markup: InlineKeyboardMarkup | None = None,
    reply_to_message_id: int | None = None,
    disable_notification: bool = False,
    link_preview: bool = False,
) -> Message:
    """Sends `text` (HTML by default; pass parse_mode=None for a person's own words, sent as typed).

    A reply to a message that is gone is still sent (as a plain message).
    Link previews are off unless asked for: a lead's text should not make the bot fetch its links.
    """
    params: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if parse_mode:
        params["parse_mode"] = parse_mode
    if reply_markup is not None:
        params["reply_markup"] = reply_markup.to_api()
    if reply_to_message_id is not None:
        params["reply_parameters"] = {"message_id": reply_to_message_id, "allow_sending_without_reply": True}
    if disable_notification:
        params["disable_notification"] = True
    if not link_preview:
        params["link_preview_options"] = {"is_disabled": True}
    return _typed(Message, "sendMessage", call(token, "sendMessage", params))


def edit_message_text(
    token: str,
    chat_id: int | str,
    message_id: int,
    text: str,
    *,
    parse_mode: str | None = "HTML",
    reply_markup: InlineKeyboardMarkup | None = None,
) -> EditResult:
    """Replaces a message's text. Without `reply_markup` its buttons disappear.

    "Message is not modified" answers `EditResult(changed=False)`; every other failure raises.
    """
    params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text}
    if parse_mode:
        params["parse_mode"] = parse_mode
    if reply_markup is not None:
        params["reply_markup"] = reply_markup.to_api()
    params["link_preview_options"] = {"is_disabled": True}
    return _edit("editMessageText", token, params)


def edit_message_reply_markup(
    token: str, chat_id: int | str, message_id: int, *, reply_markup: InlineKeyboardMarkup | None = None
) -> EditResult:
    """Replaces a message's buttons (None removes them). Not modified: `EditResult(changed=False)`."""
    params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id}
    if reply_markup is not None:
        params["reply_markup"] = reply_markup.to_api()
    return _edit("editMessageReplyMarkup", token, params)


def _edit(method: str, token: str, params: dict[str, Any]) -> EditResult:
    try:
        result = call(token, method, params)
    except MessageNotModified:
        return EditResult(changed=False)
    # Telegram answers True instead of the Message for inline-mode messages.
    message = _typed(Message, method, result) if isinstance(result, dict) else None
    return EditResult(changed=True, message=message)


def answer_callback_query(
    token: str, callback_query_id: str, *, text: str | None = None, show_alert: bool = False
) -> None:
    """Stops the button's spinner; `text` (at most 200 characters, plain) shows as a toast or an alert."""
    params: dict[str, Any] = {"callback_query_id": callback_query_id}
    if text:
        params["text"] = text[:CALLBACK_TEXT_MAX_LENGTH]
    if show_alert:
        params["show_alert"] = True
    call(token, "answerCallbackQuery", params)
