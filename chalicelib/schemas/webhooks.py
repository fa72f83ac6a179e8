"""Outgoing webhooks: subscriptions, deliveries, and the delivery queue's message."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from chalicelib.schemas.common import Description, Input, Output
from chalicelib.schemas.events import EventType

__all__ = [
    "ALL_EVENTS",
    "TEST_EVENT",
    "AttemptOut",
    "DeliveryMessage",
    "DeliveryOut",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookEventType",
    "WebhookOut",
    "WebhookPayload",
]

ALL_EVENTS = "*"
TEST_EVENT = "webhook.test"
# A subscription names the domain events (chalicelib/events) it wants, or "*" for all of them.
WebhookEventType = Literal[EventType, "*"]
WebhookUrl = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class WebhookCreate(Input):
    url: WebhookUrl = Field(description="https URL the events are POSTed to (public hosts only in AWS)")
    events: list[WebhookEventType] = Field(
        min_length=1, max_length=32, description=f"Event types, or {ALL_EVENTS!r} for every event"
    )
    description: Description | None = None
    include_contact_data: bool = Field(
        False, description="Add the lead's contact fields (name, contacts, message) to each event's data"
    )

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class WebhookOut(Output):
    id: str
    url: str
    events: list[str]
    description: str | None
    include_contact_data: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret, shown this once: verify X-LeadCRM-Signature with it (docs/webhooks.md)"
    )


class AttemptOut(Output):
    number: int
    at: datetime
    status_code: int | None = Field(description="The receiver's HTTP status; null when there was no answer")
    error: str | None
    duration_ms: int | None


DeliveryStatus = Literal["pending", "retrying", "delivered", "failed"]


class DeliveryOut(Output):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: list[AttemptOut]
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class WebhookPayload(Output):
    """The JSON body each delivery POSTs."""

    id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class DeliveryMessage(BaseModel):
    """One delivery queue message: which delivery, which attempt, when it is due, and the body to sign."""

    model_config = ConfigDict(extra="forbid", strict=False, defer_build=True)

    version: Literal[1] = 1
    webhook_id: str
    delivery_sk: str
    attempt: int = Field(ge=1, le=1000)
    first_attempt_at: float | None = None
    due_at: float = 0.0
    body: str


EVENT_TYPE_CHOICES: tuple[str, ...] = (*get_args(EventType), ALL_EVENTS)
