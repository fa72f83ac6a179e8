"""Records per second through the SQS intake handler on DynamoDB Local.

Invokes the real handler (Powertools batch processing included) through the
Chalice test client with batches of 1, 10 and 100 records, and counts the
DynamoDB requests each record costs with a botocore event hook.

    python -m bench.sqs_intake [--records 300]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
import uuid
from typing import Any

from chalice.test import Client

from app import app
from bench.auth import admin_headers
from bench.intake import dynamodb
from chalicelib.access.queue_signing import sign_with_api_key
from chalicelib.models import count_requests, create_tables


def record(body: dict[str, Any], api_key: str) -> dict[str, Any]:
    """A record as Lambda delivers it, signed with the source's bot key as a real bot signs."""
    text = json.dumps(body)
    attributes = {
        name: {"stringValue": value["StringValue"], "dataType": "String"}
        for name, value in sign_with_api_key(text, api_key).items()
    }
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": str(uuid.uuid4()),
        "body": text,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": attributes,
        "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:leadcrm-intake",
        "awsRegion": "us-east-1",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=300, help="records per batch size")
    args = parser.parse_args()
    os.environ["TABLE_PREFIX"] = "leadcrm-dev"
    rows = []
    with dynamodb() as engine:
        create_tables()
        headers = admin_headers()
        with Client(app, stage_name="dev") as client:
            operators = [
                json.loads(
                    client.http.post(
                        "/operators",
                        headers=headers,
                        body=json.dumps({"name": f"Op {i}", "max_load": 1000}),
                    ).body
                )
                for i in range(5)
            ]
            source = json.loads(
                client.http.post("/sources", headers=headers, body=json.dumps({"name": "Telegram Bot"})).body
            )
            client.http.put(
                f"/sources/{source['id']}/weights",
                headers=headers,
                body=json.dumps([{"operator_id": op["id"], "weight": 10} for op in operators]),
            )
            api_key = json.loads(client.http.post(f"/sources/{source['id']}/keys", headers=headers, body="{}").body)[
                "api_key"
            ]
            sequence = 0
            for batch_size in (1, 10, 100):
                batches = []
                for _ in range(max(1, args.records // batch_size)):
                    batch = []
                    for _ in range(batch_size):
                        sequence += 1
                        batch.append(
                            record(
                                {
                                    "version": 1,
                                    "source_id": source["id"],
                                    "message_id": f"m{sequence}",
                                    "lead": {"external_id": f"tg:{sequence}"},
                                    "text": "How much is it?",
                                },
                                api_key,
                            )
                        )
                    batches.append({"Records": batch})
                handled = 0
                with count_requests() as counts:
                    started = time.perf_counter()
                    for event in batches:
                        payload = client.lambda_.invoke("intake", event).payload
                        assert payload == {"batchItemFailures": []}, payload
                        handled += len(event["Records"])
                    elapsed = time.perf_counter() - started
                rows.append((batch_size, handled, handled / elapsed, sum(counts.values()) / handled))
    print(f"\nEngine: {engine}; 5 operators; sequential invocations (one Lambda).\n")
    print("| batch size | records | records/s | DynamoDB requests per record |")
    print("|---|---|---|---|")
    for batch_size, handled, rate, per_record in rows:
        print(f"| {batch_size} | {handled} | {rate:.0f} | {per_record:g} |")


if __name__ == "__main__":
    main()
