"""SQS intake: each record becomes one appeal; failures are reported per record.

Powertools' BatchProcessor returns `{"batchItemFailures": [...]}` so Lambda
deletes the records that succeeded and redelivers only the failed ones (the
event source has `ReportBatchItemFailures` on; see .chalice/resources.json).
After 5 receives a failing record moves to the DLQ.

While a record is handled every log line carries its SQS `messageId` as the
correlation id; each batch reports `intake_records_failed` (records sent back
to the queue, bound for the DLQ once they run out of receives).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from chalice.app import Blueprint, SQSEvent

from chalicelib.channels import queue
from chalicelib.core.config import INTAKE_QUEUE_NAME
from chalicelib.core.errors import DomainError, InvalidInput
from chalicelib.core.observability import INTAKE_RECORDS_FAILED, correlated, count, invocation, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

bp = Blueprint(__name__)


def handle_record(record: SQSRecord) -> None:
    with correlated(record.message_id):
        _handle(record)


def _handle(record: SQSRecord) -> None:
    try:
        attributes = {name: value.string_value or "" for name, value in record.message_attributes.items()}
        result = queue.ingest(record.body, attributes)
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
def intake(event: SQSEvent) -> PartialItemFailureResponse:
    # Imported here: the batch utilities pull in Powertools' data classes,
    # parser and asyncio, cold-start time the HTTP and schedule functions
    # (the same package) need not pay.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    with invocation(getattr(event.context, "aws_request_id", None)):
        # A batch whose every record failed is still a partial response, so Lambda
        # counts receives per record instead of retrying an invocation error.
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        batch = event.to_dict()
        response = process_partial_response(
            event=batch, record_handler=handle_record, processor=processor, context=cast("LambdaContext", event.context)
        )
        failed = len(response.get("batchItemFailures", []))
        # Zero is reported too: a dense series alarms cleanly.
        count(INTAKE_RECORDS_FAILED, failed)
        logger.info("intake batch handled", extra={"records": len(batch.get("Records", [])), "failed": failed})
        return response
