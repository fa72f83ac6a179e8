"""The appeals and leads tables' streams: one handler per stream, each batch dispatched to its consumers.

The appeals stream feeds the source aggregates and the operator bot's
notifications; the leads stream feeds the notifications. The event sources
have a tumbling window (.chalice/resources.json) for one reason: with it Lambda
names the batch's shard (`shardId`), which the aggregates' per-shard marks
need. No window state is kept (the marks live in the sources table), but the
answer must carry a `state`, or Lambda counts the call as failed.

The stream ARNs are placeholders Chalice needs at import time; the deployment
template points each event source at its table's stream by reference.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, DynamoDBEvent

from chalicelib.core.observability import invocation
from chalicelib.events import APPEAL_CONSUMERS, LEAD_CONSUMERS, StreamBatch, dispatch

bp = Blueprint(__name__)

APPEALS_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/leadcrm-appeals/stream/placeholder"
LEADS_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/leadcrm-leads/stream/placeholder"

# What a tumbling window's call answers: no state carried between calls.
NO_STATE: dict[str, Any] = {"state": {}}


@bp.on_dynamodb_record(stream_arn=APPEALS_STREAM_ARN, batch_size=100, starting_position="LATEST", name="appeal_events")
def appeal_events(event: DynamoDBEvent) -> dict[str, Any]:
    with invocation(getattr(event.context, "aws_request_id", None)):
        dispatch(StreamBatch.from_event(event.to_dict()), APPEAL_CONSUMERS)
    return NO_STATE


@bp.on_dynamodb_record(stream_arn=LEADS_STREAM_ARN, batch_size=100, starting_position="LATEST", name="lead_events")
def lead_events(event: DynamoDBEvent) -> dict[str, Any]:
    with invocation(getattr(event.context, "aws_request_id", None)):
        dispatch(StreamBatch.from_event(event.to_dict()), LEAD_CONSUMERS)
    return NO_STATE
