"""The stream consumers: records -> events -> the operator bot (and, later, more notifiers).

A record that fails raises: Lambda (and `make run`'s poller) retries the batch,
bisecting it, and per-event "sent" markers make the records that went through
send nothing twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.channels import operator_bot, webhooks
from chalicelib.core.observability import logger
from chalicelib.events.records import appeal_events, lead_events
from chalicelib.routing.followup_job import record_lead_activity

if TYPE_CHECKING:
    from chalicelib.schemas.events import DomainEvent

__all__ = ["consume_appeal_records", "consume_lead_records", "dispatch"]


def dispatch(event: DomainEvent) -> None:
    operator_bot.notify(event)
    webhooks.notify(event)


def consume_appeal_records(records: list[dict[str, Any]]) -> None:
    """Lambda's DynamoDB records from the appeals table, in stream order."""
    for record in records:
        for event in appeal_events(record):
            _handle(event, record)


def consume_lead_records(records: list[dict[str, Any]]) -> None:
    """Lambda's DynamoDB records from the leads table, in stream order."""
    for record in records:
        for event in lead_events(record):
            _handle(event, record)
            # A stage move is activity on the lead's accepted appeals: their follow-up restarts.
            record_lead_activity(str(event.data["lead_id"]), event.occurred_at)


def _handle(event: DomainEvent, record: dict[str, Any]) -> None:
    try:
        dispatch(event)
    except Exception as error:
        # Ids and types only: the record's images carry personal data.
        logger.warning(
            "event not delivered; the batch will be retried",
            extra={
                "event_id": event.id,
                "event_type": event.type,
                "sequence_number": (record.get("dynamodb") or {}).get("SequenceNumber"),
                "error": type(error).__name__,
            },
        )
        raise
