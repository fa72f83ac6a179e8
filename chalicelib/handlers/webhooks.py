"""SQS webhook deliveries: each record is one attempt (or a hop towards its due time); failures per record.

The queue's messages are `DeliveryMessage`s (chalicelib/channels/webhooks.py
enqueues them: the stream fan-out, and each retry). A record that raises (a
malformed message, DynamoDB trouble) is reported as a batch item failure,
redelivered, and moved to the webhooks DLQ after 5 receives. A delivery whose
24 hours are spent is sent to that DLQ by the channel itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from chalice.app import Blueprint, SQSEvent

from chalicelib.channels import webhooks
from chalicelib.core.config import WEBHOOK_QUEUE_NAME
from chalicelib.core.observability import correlated, invocation, logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["bp", "handle_batch", "webhook_deliveries"]

bp = Blueprint(__name__)


def _record_handler(deliver: Callable[[str], str]) -> Callable[[SQSRecord], None]:
    def handle(record: SQSRecord) -> None:
        with correlated(record.message_id):
            try:
                deliver(record.body)
            except Exception as error:
                # The type only: a message body may carry contact data, an error may quote it.
                logger.warning(
                    "webhook delivery record failed; left for retry",
                    extra={
                        "sqs_message_id": record.message_id,
                        "error": type(error).__name__,
                        "receive_count": record.attributes.approximate_receive_count,
                    },
                )
                raise

    return handle


def handle_batch(
    batch: dict[str, Any], context: Any = None, *, deliver: Callable[[str], str] = webhooks.deliver
) -> PartialItemFailureResponse:
    """Lambda's SQS event -> `{"batchItemFailures": [...]}`; `deliver` is injectable (a clock, a resolver)."""
    # Imported here: Powertools' batch utilities are cold-start time the other functions need not pay.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=batch,
        record_handler=_record_handler(deliver),
        processor=processor,
        context=cast("LambdaContext", context),
    )
    failed = len(response.get("batchItemFailures", []))
    logger.info("webhook batch handled", extra={"records": len(batch.get("Records", [])), "failed": failed})
    return response


@bp.on_sqs_message(queue=WEBHOOK_QUEUE_NAME, batch_size=5, maximum_batching_window_in_seconds=1)
def webhook_deliveries(event: SQSEvent) -> PartialItemFailureResponse:
    with invocation(getattr(event.context, "aws_request_id", None)):
        return handle_batch(event.to_dict(), event.context)
