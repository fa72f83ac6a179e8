from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import StringConstraints

from chalicelib.schemas.common import EntityId, Input, Name, Output

MESSAGE_MAX_LENGTH = 10_000
PHONE_MAX_LENGTH = 32
# `\S`: at least one visible character; the JSON Schema says so too.
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")]
MessageText = Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_MAX_LENGTH, pattern=r"\S")]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=PHONE_MAX_LENGTH, pattern=r"\S")
]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=r"\S")]
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=200)]

AppealStatus = Literal["waiting", "active", "closed"]


class AppealCreate(Input):
    lead_external_id: ExternalId
    source_id: EntityId
    message: MessageText
    lead_name: Name | None = None
    lead_phone: Phone | None = None
    lead_email: Email | None = None
    message_id: MessageId | None = None


class OperatorRef(Output):
    id: str
    name: str


class AppealOut(Output):
    id: str
    lead_id: str
    lead_external_id: str
    source_id: str
    operator: OperatorRef | None
    status: AppealStatus
    message: str
    message_id: str | None
    created_at: datetime
    assigned_at: datetime | None
    closed_at: datetime | None
