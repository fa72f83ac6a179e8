"""What outgoing webhooks cost: DynamoDB requests and SQS messages per event and per delivery.

On DynamoDB Local (moto's SQS server for the queue, a loopback receiver
answering 200, or 500 for the retry rows) with 0, 1, 5 and 20 matching
subscriptions: the stream fan-out (`dispatch`) per event, a redelivered
batch, then each delivery handled by the real SQS handler.

    python -m bench.webhooks [--events 20]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar

import boto3

from bench.intake import dynamodb
from chalicelib.channels import webhooks
from chalicelib.events.consumer import dispatch
from chalicelib.handlers.webhooks import handle_batch
from chalicelib.models import count_requests, create_tables
from chalicelib.schemas.events import DomainEvent
from chalicelib.schemas.webhooks import WebhookCreate

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Receiver(BaseHTTPRequestHandler):
    # With `fail_first`, the first attempt of each delivery is answered 500, the next 200.
    fail_first = False
    seen: ClassVar[set[str]] = set()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        delivery = self.headers.get(webhooks.DELIVERY_ID_HEADER) or ""
        failing = type(self).fail_first and delivery not in type(self).seen
        type(self).seen.add(delivery)
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def sqs_server() -> Iterator[None]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL_SQS"] = f"http://{host}:{port}"
    try:
        yield
    finally:
        server.stop()


def sqs_sent() -> Counter[str]:
    """Counts the app's SendMessage calls; their DelaySeconds is dropped (the clock jumps to each due time instead)."""
    counts: Counter[str] = Counter()

    def undelay(params: dict[str, Any], **_: Any) -> None:
        counts.update(["SendMessage"])
        params.pop("DelaySeconds", None)

    webhooks.sqs_client().meta.events.register("provide-client-params.sqs.SendMessage", undelay)
    return counts


def event(n: int) -> DomainEvent:
    return DomainEvent(
        id=f"ap_bench{uuid.uuid4().hex[:12]}:appeal.assigned:{n}",
        type="appeal.assigned",
        occurred_at=datetime.now(UTC),
        data={"appeal_id": f"ap_bench{n}", "lead_id": None, "operator_id": "op_1", "source_id": "src_1"},
    )


def drain(queue_url: str) -> int:
    sqs = boto3.client("sqs", region_name="us-east-1")
    handled = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=5, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return handled
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:leadcrm-webhooks",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
        # The retry rows move the clock to each message's due time instead of waiting for it.
        handle_batch(
            {"Records": records},
            deliver=lambda raw: webhooks.deliver(raw, now=max(time.time(), json.loads(raw)["due_at"])),
        )
        for m in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        handled += len(messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    logging.getLogger("leadcrm").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ["TABLE_PREFIX"] = f"leadcrm-bench-{uuid.uuid4().hex[:6]}"
    os.environ["WEBHOOK_ALLOW_PRIVATE_HOSTS"] = "127.0.0.1"
    with dynamodb() as engine, sqs_server(), receiver() as url:
        create_tables()
        sqs = boto3.client("sqs", region_name="us-east-1")
        os.environ["WEBHOOK_QUEUE_URL"] = sqs.create_queue(QueueName="leadcrm-webhooks")["QueueUrl"]
        os.environ["WEBHOOK_DLQ_URL"] = sqs.create_queue(QueueName="leadcrm-webhooks-dlq")["QueueUrl"]
        sent = sqs_sent()
        print(f"engine: {engine}; {args.events} events per row")
        print("          fan-out       |   each delivery   | redelivered batch  | 500, then 200")
        print("subs | req/event msg/event | req/del  ms/del  | req/event msg/event | req/del  msg/del")
        subscribed = 0
        for target in (0, 1, 5, 20):
            while subscribed < target:
                webhooks.create_webhook(WebhookCreate(url=url, events=["appeal.assigned"]))
                subscribed += 1
            events = [event(n) for n in range(args.events)]
            sent.clear()
            with count_requests() as fan_out:
                for item in events:
                    dispatch(item)
            fan_out_messages = sent["SendMessage"]
            started = time.perf_counter()
            with count_requests() as delivering:
                handled = drain(os.environ["WEBHOOK_QUEUE_URL"])
            elapsed = time.perf_counter() - started
            deliveries = max(1, args.events * target)
            # The stream hands the same records over again after they went out.
            sent.clear()
            with count_requests() as again:
                for item in events:
                    dispatch(item)
            again_messages = sent["SendMessage"]
            _Receiver.fail_first = True
            retry_events = [event(n) for n in range(5)]
            for item in retry_events:
                dispatch(item)
            sent.clear()
            with count_requests() as retrying:
                attempts = drain(os.environ["WEBHOOK_QUEUE_URL"])  # each first attempt fails and is re-enqueued
            _Receiver.fail_first = False
            retried = max(1, 5 * target)
            print(
                f"{target:>4} | {sum(fan_out.values()) / args.events:>9.1f} {fan_out_messages / args.events:>8.1f} | "
                f"{sum(delivering.values()) / deliveries:>8.2f} {1000 * elapsed / max(1, handled):>8.1f} | "
                f"{sum(again.values()) / args.events:>9.1f} {again_messages / args.events:>8.1f} | "
                f"{sum(retrying.values()) / retried:>8.1f} {sent['SendMessage'] / retried:>8.1f}"
                f"  (deliveries {handled}; with a failure: {attempts} attempts)"
            )


if __name__ == "__main__":
    main()
