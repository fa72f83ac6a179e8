"""The message channel bots put on the intake queue (versioned)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib.schemas.appeals import (
    AppealCreate,
    ChatId,
    LanguageCode,
    MediaKind,
    MessageId,
    MessageText,
    Username,
)
from chalicelib.schemas.common import EntityId, Input, Name
from chalicelib.schemas.contact import Email, ExternalId, Phone
from chalicelib.schemas.routing_rules import Tags


class IntakeLead(Input):
    external_id: ExternalId = Field(description="The person's id, the same on every channel (e.g. `tg:123456`).")
    name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    username: Username | None = Field(default=None, description="The channel handle (Telegram `username`).")
    language_code: LanguageCode | None = None
    chat_id: ChatId | None = Field(default=None, description="Where this source's bot reaches the person (replies).")


class IntakeMessageV1(Input):
    """One incoming chat message. Send it again as often as you like: the
    same `(source_id, message_id)` always maps to the same appeal."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        title="LeadCRM intake message v1",
        json_schema_extra={
            "examples": [
                {
                    "version": 1,
                    "source_id": "src_01a1fb279818eea41f0afb66",
                    "message_id": "update-100500",
                    "lead": {"external_id": "tg:100500", "name": "Ivan Petrov"},
                    "text": "Hi! How much is it?",
                    "sent_at": "2026-11-20T12:00:00Z",
                }
            ]
        },
    )

    version: Literal[1]
    source_id: EntityId
    message_id: MessageId
    lead: IntakeLead
    text: MessageText
    media: MediaKind | None = Field(
        default=None, description="What a media message carried; `text` holds a placeholder."
    )
    # Channels send times as text; strict mode would refuse them in Python.
    sent_at: datetime | None = Field(default=None, strict=False)
    required_tags: Tags = Field(
        default=(),
        description="Skills the appeal needs on top of its source's, e.g. the language the bot detected (lang:uk).",
    )
    vip: bool = Field(default=False, description="A VIP lead: first in a priority line.")

    def to_appeal(self) -> AppealCreate:
        return AppealCreate(
            lead_external_id=self.lead.external_id,
            source_id=self.source_id,
            message=self.text,
            lead_name=self.lead.name,
            lead_phone=self.lead.phone,
            lead_email=self.lead.email,
            message_id=self.message_id,
            lead_username=self.lead.username,
            lead_language_code=self.lead.language_code,
            lead_chat_id=self.lead.chat_id,
            media=self.media,
            required_tags=self.required_tags,
            vip=self.vip,
        )


def intake_json_schema() -> dict[str, object]:
    """The JSON Schema bot authors validate against (chalicelib/schemas/json/)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "leadcrm/intake-message.v1.json",
        **IntakeMessageV1.model_json_schema(),
    }


if __name__ == "__main__":
    # Regenerate with: python -m chalicelib.schemas.intake > chalicelib/schemas/json/intake-message.v1.json
    import json

    print(json.dumps(intake_json_schema(), indent=2, ensure_ascii=False))
