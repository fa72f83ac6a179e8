"""The appeals and leads tables' streams -> chalicelib/events (the operator bot's notifications).

The stream ARNs are placeholders Chalice needs at import time; the deployment
template points each event source at its table's stream by reference. This
module is meant to fold into the stream dispatcher (one handler per stream,
several consumers).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, DynamoDBEvent

from chalicelib.core.observability import invocation
from chalicelib.events import consume_appeal_records, consume_lead_records

bp = Blueprint(__name__)

APPEALS_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/leadcrm-appeals/stream/placeholder"
LEADS_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/leadcrm-leads/stream/placeholder"


def _records(event: DynamoDBEvent) -> list[dict[str, Any]]:
    return list(event.to_dict().get("Records", []))


@bp.on_dynamodb_record(stream_arn=APPEALS_STREAM_ARN, batch_size=100, starting_position="LATEST", name="appeal_events")
def appeal_events(event: DynamoDBEvent) -> None:
    with invocation(getattr(event.context, "aws_request_id", None)):
        consume_appeal_records(_records(event))


@bp.on_dynamodb_record(stream_arn=LEADS_STREAM_ARN, batch_size=100, starting_position="LATEST", name="lead_events")
def lead_events(event: DynamoDBEvent) -> None:
    with invocation(getattr(event.context, "aws_request_id", None)):
        consume_lead_records(_records(event))
