"""`make run`'s outgoing webhooks: the delivery queue + DLQ (as in the template) and a Lambda-style poller.

One component: it creates the queues, names them in the environment (the
API's test ping and the stream consumers enqueue there; it is started before
them), lets deliveries reach loopback and private hosts over http unless
`WEBHOOK_ALLOW_PRIVATE_HOSTS` is already set (a local receiver is the point
of local use), and feeds queue batches to the `webhook_deliveries` handler.
"""

from __future__ import annotations

import os
import threading

from chalicelib.core.config import WEBHOOK_QUEUE_NAME

__all__ = ["WebhookDeliveries"]


class WebhookDeliveries:
    name = "webhooks"

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.queue_url = ""
        self.dlq_url = ""

    def start(self) -> None:
        import boto3
        from chalice.test import Client

        from app import app
        from scripts.local.sqs_poller import SqsPoller, create_intake_queues

        sqs = boto3.client("sqs", region_name=os.environ["AWS_DEFAULT_REGION"])
        # Longer than a delivery's 60 s lease (so a redelivered message can claim again), shorter than
        # the template's 360 s, so a run that died is retried sooner.
        self.queue_url, self.dlq_url = create_intake_queues(sqs, WEBHOOK_QUEUE_NAME, visibility_timeout=90)
        os.environ["WEBHOOK_QUEUE_URL"] = self.queue_url
        os.environ["WEBHOOK_DLQ_URL"] = self.dlq_url
        os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_HOSTS", "*")
        client = Client(app, stage_name=self.stage)
        poller = SqsPoller(
            sqs, self.queue_url, lambda event: client.lambda_.invoke("webhook_deliveries", event).payload, batch_size=5
        )
        self._thread = threading.Thread(target=poller.run, args=(self._stop,), name="webhook-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def failure(self) -> str | None:
        if self._thread is not None and not self._thread.is_alive() and not self._stop.is_set():
            return "the webhook delivery poller thread died"
        return None

    def describe(self) -> str:
        allowed = os.environ.get("WEBHOOK_ALLOW_PRIVATE_HOSTS") or "none"
        return (
            f"Webhooks   {self.queue_url} → delivery handler (private hosts allowed: {allowed})\n"
            f"             DLQ {self.dlq_url}"
        )
