"""Stream records -> domain events with stable ids -> consumers (the operator bot, outgoing webhooks)."""

from chalicelib.events.consumer import consume_appeal_records, consume_lead_records
from chalicelib.events.dispatch import APPEAL_CONSUMERS, LEAD_CONSUMERS, StreamBatch, dispatch
from chalicelib.events.records import appeal_events, lead_events

__all__ = [
    "APPEAL_CONSUMERS",
    "LEAD_CONSUMERS",
    "StreamBatch",
    "appeal_events",
    "consume_appeal_records",
    "consume_lead_records",
    "dispatch",
    "lead_events",
]
