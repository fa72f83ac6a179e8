"""SQS intake: each record becomes one appeal; failures are reported per record.

Powertools' BatchProcessor returns `{"batchItemFailures": [...]}` so Lambda
deletes the records that succeeded and redelivers only the failed ones (the
event source has `ReportBatchItemFailures` on; see .chalice/resources.json).
After 5 receives a failing record moves to the DLQ.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint
from chalice.app import SQSEvent

from chalicelib.config import INTAKE_QUEUE_NAME
from chalicelib.errors import DomainError, InvalidInput
from chalicelib.services import intake as intake_service

bp = Blueprint(__name__)
logger = Logger(service="leadcrm")


def handle_record(record: SQSRecord) -> None:
    try:
        result = intake_service.ingest(record.body)
    except DomainError as exc:
        # Reasons and field paths only: never the text or the lead's contacts.
        fields = [".".join(map(str, p.loc)) for p in exc.problems] if isinstance(exc, InvalidInput) else []
        logger.warning(
            "intake record rejected",
            extra={
                "sqs_message_id": record.message_id,
                "error": type(exc).__name__,
                "reason": exc.message,
                "fields": fields,
                "receive_count": record.attributes.approximate_receive_count,
            },
        )
        raise
    except Exception as exc:
        # Infrastructure trouble (throttling, timeouts): the record is retried.
        # Only the type is logged; driver messages may quote keys or values.
        logger.warning(
            "intake record failed; left for retry",
            extra={
                "sqs_message_id": record.message_id,
                "error": type(exc).__name__,
                "receive_count": record.attributes.approximate_receive_count,
            },
        )
        raise
    logger.info(
        "intake record processed",
        extra={
            "sqs_message_id": record.message_id,
            "appeal_id": result.appeal.id,
            "new_appeal": result.created,
            "status": result.appeal.status,
        },
    )


@bp.on_sqs_message(queue=INTAKE_QUEUE_NAME, batch_size=10, maximum_batching_window_in_seconds=1)
def intake(event: SQSEvent) -> dict[str, Any]:
    # A batch whose every record failed is still a partial response, so Lambda
    # counts receives per record instead of retrying an invocation error.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event.to_dict(), record_handler=handle_record, processor=processor, context=event.context
    )
