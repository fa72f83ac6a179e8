from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import StringConstraints

from chalicelib.schemas.common import EntityId, Input, Name, Output

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MessageText = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
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
