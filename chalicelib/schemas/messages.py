"""An appeal's conversation: messages as the API shows them, a reply, a bot's delivery report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.models.messages import DeliveryStatus, Direction
from chalicelib.schemas.common import Input, Output

__all__ = ["REPLY_MAX_LENGTH", "DeliveryReport", "MessageOut", "ReplyCreate"]

# Telegram's sendMessage limit: a longer reply could not be delivered as one message.
REPLY_MAX_LENGTH = 4096
ClientMessageId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


class MessageOut(Output):
    id: int = Field(description="The message's sequence number in its appeal's conversation (1 is the first)")
    appeal_id: str
    direction: Direction = Field(description="in: from the lead; out: a reply to the lead")
    text: str
    media: str | None = Field(description="What a media message carried (photo, voice...); text is a placeholder")
    channel_message_id: str | None
    sender: str | None = Field(description="in: the lead's external id; out: the operator who wrote it")
    created_at: datetime
    status: DeliveryStatus | None = Field(description="Outbound only: pending, sent or failed")
    error: str | None = Field(description="Why delivery failed, in words (e.g. blocked: the lead blocked the bot)")
    retryable: bool | None = Field(description="Failed, but sending again may work (throttled, network)")
    client_message_id: str | None
    author_operator_id: str | None
    updated_at: datetime | None


class ReplyCreate(Input):
    """A reply to the lead. Send it again with the same client_message_id after a timeout: it is sent once."""

    text: Annotated[str, StringConstraints(min_length=1, max_length=REPLY_MAX_LENGTH, pattern=r"\S")]
    client_message_id: ClientMessageId


class DeliveryReport(Input):
    """A source's bot saying what became of an outbound message it was asked to deliver."""

    status: Literal["sent", "failed"]
    error: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    channel_message_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    retryable: bool | None = None
