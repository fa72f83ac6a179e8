"""The parts of a Telegram Update the operator bot reads (unknown fields are ignored: Telegram adds them)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.schemas.common import Output

__all__ = ["BotAck", "OperatorBotUpdate"]

TelegramId = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class _Telegram(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


class BotUser(_Telegram):
    id: TelegramId


class BotChat(_Telegram):
    id: TelegramId
    type: str = "private"


class RepliedMessage(_Telegram):
    """The message an operator's message answers (its notice, for a reply relayed to the lead)."""

    message_id: TelegramId


class BotMessage(_Telegram):
    message_id: TelegramId
    chat: BotChat
    sender: BotUser | None = Field(default=None, alias="from")
    text: Annotated[str, Field(max_length=4096)] | None = None
    reply_to_message: RepliedMessage | None = None


class BotCallbackQuery(_Telegram):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    sender: BotUser = Field(alias="from")
    message: BotMessage | None = None
    data: Annotated[str, Field(max_length=64)] | None = None


class OperatorBotUpdate(_Telegram):
    update_id: TelegramId
    message: BotMessage | None = None
    callback_query: BotCallbackQuery | None = None


class BotAck(Output):
    ok: bool
