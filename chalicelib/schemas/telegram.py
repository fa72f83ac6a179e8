"""The parts of a Telegram Bot API `Update` we read.

Telegram adds fields over time, so unknown fields are ignored here (unlike our
own API, where they are rejected).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.schemas.common import Output

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
