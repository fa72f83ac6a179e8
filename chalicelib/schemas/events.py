"""Domain events read from the tables' streams: what the notifiers and webhooks consume."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "APPEAL_EVENT_TYPES",
    "EVENT_TYPES",
    "LEAD_EVENT_TYPES",
    "MESSAGE_EVENT_TYPES",
    "DomainEvent",
    "EventType",
]

EventType = Literal[
    "appeal.assigned",
    "appeal.reassigned",
    "appeal.returned_to_line",
    "appeal.escalated",
    "appeal.closed",
    "appeal.accepted",
    "appeal.followup_reminder",
    "lead.stage_changed",
    "lead.transferred",
    "message.outbound",
    "message.received",
]
APPEAL_EVENT_TYPES: tuple[EventType, ...] = (
    "appeal.assigned",
    "appeal.reassigned",
    "appeal.returned_to_line",
    "appeal.escalated",
    "appeal.closed",
    "appeal.accepted",
    # An accepted appeal quiet for its source's followup_seconds: its operator is reminded.
    "appeal.followup_reminder",
)
LEAD_EVENT_TYPES: tuple[EventType, ...] = ("lead.stage_changed", "lead.transferred")
# A reply from the CRM for the source's own bot to deliver (sources without a connected Telegram bot);
# the bot answers with POST /appeals/{appeal_id}/messages/{message_id}/status.
# `message.received`: a lead's later message on an open appeal (the first one comes with the appeal).
MESSAGE_EVENT_TYPES: tuple[EventType, ...] = ("message.outbound", "message.received")
EVENT_TYPES: tuple[EventType, ...] = APPEAL_EVENT_TYPES + LEAD_EVENT_TYPES + MESSAGE_EVENT_TYPES


class DomainEvent(BaseModel):
    """One change, with an id that is the same however often its stream record is delivered.

    `data` holds ids and non-personal fields; `contact` the personal ones
    (lead name, message text), sent only to subscribers who opted in and to the operator bot.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str
    type: EventType
    occurred_at: datetime
    data: dict[str, Any]
    contact: dict[str, Any] = {}
