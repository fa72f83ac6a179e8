"""The parts of a Telegram Bot API `Update` we read.

Telegram adds fields over time, so unknown fields are ignored here (unlike our
own API, where they are rejected).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.schemas.common import Input, Output

# Telegram ids are signed 64-bit integers; anything larger is not from Telegram.
TelegramId = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class TelegramObject(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


class TelegramUser(TelegramObject):
    id: TelegramId
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class TelegramChat(TelegramObject):
    id: TelegramId


class TelegramContact(TelegramObject):
    phone_number: str
    first_name: str = ""
    last_name: str | None = None
    user_id: TelegramId | None = None


class TelegramSticker(TelegramObject):
    emoji: str | None = None


class TelegramMessage(TelegramObject):
    message_id: TelegramId
    sender: TelegramUser | None = Field(default=None, alias="from")
    chat: TelegramChat | None = None
    date: int
    text: str | None = None
    caption: str | None = None
    sticker: TelegramSticker | None = None
    contact: TelegramContact | None = None
    photo: list[Any] | None = None
    video: dict[str, Any] | None = None
    video_note: dict[str, Any] | None = None
    voice: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    animation: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    poll: dict[str, Any] | None = None


class TelegramUpdate(TelegramObject):
    update_id: TelegramId
    message: TelegramMessage | None = None
    edited_message: TelegramMessage | None = None


class WebhookAck(Output):
    ok: bool
    enqueued: bool
    message_id: str | None = None


# "<bot id>:<secret>" as BotFather gives it; anything else is refused before Telegram is asked.
BotToken = Annotated[
    str, StringConstraints(min_length=3, max_length=256, pattern=r"^[0-9]{1,20}:[A-Za-z0-9_-]{1,200}$")
]


class TelegramConnect(Input):
    """A source's own Telegram bot. The token is write-only: kept encrypted, never shown again."""

    bot_token: BotToken = Field(description="The token BotFather gave for this source's bot")


class TelegramConnection(Output):
    source_id: str
    bot_username: str | None
    bot_link: str | None
    webhook_url: str = Field(description="Where Telegram now sends this bot's updates (a bot has one webhook)")
