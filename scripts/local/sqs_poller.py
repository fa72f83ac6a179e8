"""Feeds SQS batches to the intake handler the way Lambda's event source does.

- receives up to `batch_size` messages (long poll), builds the Lambda SQS event
  (one record per message, its own messageId, ApproximateReceiveCount …);
- invokes the handler; with `ReportBatchItemFailures` the handler answers
  `{"batchItemFailures": [{"itemIdentifier": id}, …]}`;
- deletes only the records that succeeded; failed ones reappear after the
  visibility timeout, and the queue's redrive policy moves a record to the DLQ
  after `maxReceiveCount` receives;
- if the handler raises, nothing is deleted (Lambda retries the whole batch).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading

log = logging.getLogger("leadcrm.poller")

Invoke = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class BatchOutcome:
    received: int
    failed: int
    deleted: int


class SqsPoller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        invoke: Invoke,
        *,
        batch_size: int = 10,
        wait_seconds: int = 1,
        region: str = "us-east-1",
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.invoke = invoke
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.region = region
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def poll_once(self) -> BatchOutcome:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return BatchOutcome(0, 0, 0)
        try:
            response = self.invoke({"Records": [self._record(message) for message in messages]})
        except Exception:
            log.exception("handler raised: the whole batch of %d returns to the queue", len(messages))
            return BatchOutcome(len(messages), len(messages), 0)
        failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(done)
                ],
            )
        if failed:
            log.warning("%d of %d records failed; left for redelivery", len(failed), len(messages))
        return BatchOutcome(len(messages), len(failed), len(done))

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("polling failed; retrying")
                stop.wait(1.0)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        body = message["Body"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": message.get("Attributes", {}),
            "messageAttributes": _lambda_attributes(message.get("MessageAttributes", {})),
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }


def _lambda_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS answers `{"StringValue", "DataType"}`; Lambda hands functions `{"stringValue", "dataType"}`
    (the queue messages' signatures travel in these)."""
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
        for name, value in attributes.items()
    }


def create_intake_queues(
    sqs: Any, name: str, *, max_receive_count: int = 5, visibility_timeout: int = 5
) -> tuple[str, str]:
    """The intake queue and its DLQ, as the deployment template declares them
    (a shorter visibility timeout locally, so retries show up within seconds)."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}),
        },
    )["QueueUrl"]
    return queue_url, dlq_url
