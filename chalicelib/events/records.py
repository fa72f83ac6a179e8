"""DynamoDB stream records (as Lambda hands them) -> domain events. Pure: no I/O.

An appeal's history is append-only (`events`, JSON strings), so what a
record added is the tail of the new image's history past the old image's
length, and an event's position in that history is a stable sequence
number: `<appeal id>:<type>:<position>` is the same on every redelivery.
A lead's stage change is seen as `stage` differing between the images;
its id carries the change's time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.models.appeals import APPEAL_ID_PREFIX
from chalicelib.models.messages import MESSAGE_PREFIX
from chalicelib.schemas.events import DomainEvent

if TYPE_CHECKING:
    from chalicelib.schemas.events import EventType

__all__ = ["appeal_events", "image", "lead_events"]


# History event type -> domain event type (created / queued are not announced).
_APPEAL_TYPES: dict[str, EventType] = {
    "assigned": "appeal.assigned",
    "reassigned": "appeal.reassigned",
    "returned_to_line": "appeal.returned_to_line",
    "escalated": "appeal.escalated",
    "closed": "appeal.closed",
    "accepted": "appeal.accepted",
    "followup_reminder": "appeal.followup_reminder",
}
_APPEAL_FIELDS = ("source_id", "reassign_count", "status", "lead_id", "escalated", "sla_due_at", "accepted_at")
# Only a reminder carries the follow-up's figures: when the appeal went quiet and when the job acts.
_FOLLOWUP_FIELDS = ("last_activity_at", "followup_seconds", "followup_action", "followup_due_at")


def image(record: dict[str, Any], which: str) -> dict[str, Any]:
    """`NewImage` / `OldImage` as plain Python values ({} when absent)."""
    # Imported here: only the stream function needs it, not the API's cold start.
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    raw = (record.get("dynamodb") or {}).get(which) or {}
    return {key: deserializer.deserialize(value) for key, value in raw.items()}


def _history(row: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for raw in row.get("events") or []:
        try:
            parsed = json.loads(raw)
        except (TypeError, ValueError):
            parsed = {}
        found.append(parsed if isinstance(parsed, dict) else {})
    return found


def _moment(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def appeal_events(record: dict[str, Any]) -> list[DomainEvent]:
    """The events one appeals-table record announces, oldest first (none for markers and removals)."""
    new = image(record, "NewImage")
    appeal_id = str(new.get("appeal_id") or "")
    if appeal_id.startswith(MESSAGE_PREFIX):
        old = image(record, "OldImage")
        return _inbound_events(new, old) or _outbound_events(new, old)
    if not appeal_id.startswith(APPEAL_ID_PREFIX) or "lead_id" not in new:
        return []  # a removal, or an open-appeal marker
    old_history = _history(image(record, "OldImage"))
    history = _history(new)
    events = []
    for position in range(len(old_history), len(history)):
        entry = history[position]
        kind = _APPEAL_TYPES.get(str(entry.get("type")))
        if kind is None:
            continue
        data: dict[str, Any] = {"appeal_id": appeal_id, **{k: _plain(new.get(k)) for k in _APPEAL_FIELDS}}
        # Stored as "<deadline>#<appeal id>" so the SLA index orders by it: receivers get the deadline.
        data["sla_due_at"] = str(data["sla_due_at"]).split("#", 1)[0] if data["sla_due_at"] else None
        data["escalated"] = bool(data["escalated"])
        data["operator_id"] = entry.get("operator_id") or new.get("operator_id")
        data["previous_operator_id"] = entry.get("previous_operator_id")
        data["reason"] = entry.get("reason")
        if kind == "appeal.followup_reminder":
            data |= {k: _plain(new.get(k)) for k in _FOLLOWUP_FIELDS}
            data["followup_due_at"] = str(data["followup_due_at"]).split("#", 1)[0] if data["followup_due_at"] else None
        contact = {"lead_external_id": new.get("lead_external_id"), "message": new.get("message")}
        events.append(
            DomainEvent(
                id=f"{appeal_id}:{kind}:{position}",
                type=kind,
                occurred_at=_moment(entry.get("at")),
                data=data,
                contact=contact,
            )
        )
    return events


def _inbound_events(new: dict[str, Any], old: dict[str, Any]) -> list[DomainEvent]:
    """`message.received` for a lead's later message (the first one is announced with its appeal)."""
    seq = _plain(new.get("seq"))
    if old or new.get("direction") != "in" or not isinstance(seq, int) or seq < 2:
        return []
    return [_message_event("message.received", new, {})]


def _outbound_events(new: dict[str, Any], old: dict[str, Any]) -> list[DomainEvent]:
    """`message.outbound` when a reply is written `pending` (for the source's own bot to deliver)."""
    if old or new.get("direction") != "out" or new.get("via") != "source_bot":
        return []  # an inbound message, a delivery report, or a reply we send through Telegram ourselves
    appeal_id, seq = new.get("message_of"), _plain(new.get("seq"))
    reply = {
        "operator_id": new.get("author_operator_id"),
        "client_message_id": new.get("client_message_id"),
        "status_url_path": f"/appeals/{appeal_id}/messages/{seq}/status",
    }
    return [_message_event("message.outbound", new, reply)]


def _message_event(kind: EventType, new: dict[str, Any], extra: dict[str, Any]) -> DomainEvent:
    """One event about a conversation's message item; its text is personal, so it rides in `contact`."""
    appeal_id, seq = str(new.get("message_of")), _plain(new.get("seq"))
    return DomainEvent(
        id=f"{appeal_id}:{kind}:{seq}",
        type=kind,
        occurred_at=_moment(new.get("created_at")),
        data={"appeal_id": appeal_id, "message_id": seq, "source_id": new.get("source_id"), **extra},
        contact={"text": new.get("text")},
    )


def lead_events(record: dict[str, Any]) -> list[DomainEvent]:
    """`lead.stage_changed` (and `lead.transferred`) when a lead's stage moved."""
    new, old = image(record, "NewImage"), image(record, "OldImage")
    lead_id = str(new.get("lead_id") or "")
    if not lead_id.startswith("ld_"):
        return []  # a deal or a scoring model in the same table, or a removal
    before, after = old.get("stage") or "new", new.get("stage") or "new"
    if before == after or not old:
        return []
    at = new.get("stage_changed_at") or new.get("updated_at")
    data = {"lead_id": lead_id, "from_stage": before, "to_stage": after, "deal_id": new.get("deal_id")}
    contact = {"name": new.get("name"), "external_id": new.get("external_id")}
    kind: EventType = "lead.transferred" if after == "transferred" else "lead.stage_changed"
    return [DomainEvent(id=f"{lead_id}:{kind}:{at}", type=kind, occurred_at=_moment(at), data=data, contact=contact)]


def _plain(value: Any) -> Any:
    # Numbers come back as Decimal: JSON wants int.
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
