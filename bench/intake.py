"""DynamoDB requests per `POST /appeals` (and friends) on DynamoDB Local.

Counts every DynamoDB API call with a botocore event hook while the real
route runs through the Chalice test client, for a source with 5 operators,
then repeats the measurement after the appeals table has grown, to show that
the cost of an intake does not grow with history.

    python -m bench.intake [--grow 1000,3000]

Falls back to moto (with a warning) when Java or DynamoDB Local is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from chalice.test import Client

from app import app
from bench.auth import admin_headers
from chalicelib.models import count_requests, create_tables
from scripts.local.dynamodb_local import REPO_ROOT, DynamoDBLocal, find_jar, java_available

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextlib.contextmanager
def dynamodb() -> Iterator[str]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if java_available() and find_jar(REPO_ROOT):
        with DynamoDBLocal() as db:
            os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = db.endpoint
            yield "DynamoDB Local"
        return
    print("WARNING: Java or DynamoDB Local missing; measuring on moto (request counts still hold)", file=sys.stderr)
    from moto import mock_aws

    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    with mock_aws():
        yield "moto"


class Bench:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.sequence = 0
        self.headers = admin_headers()

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = getattr(self.client.http, method)(
            path, headers=self.headers, body=json.dumps(body) if body is not None else None
        )
        return response.status_code, json.loads(response.body)

    def appeal(self, source_id: str, message_id: str | None = None) -> dict[str, Any]:
        self.sequence += 1
        body = {
            "lead_external_id": f"bench:{message_id or self.sequence}",
            "source_id": source_id,
            "message": "How much does it cost?",
            "message_id": message_id or f"m{self.sequence}",
        }
        status, reply = self.call("post", "/appeals", body)
        assert status in (200, 201), reply
        return reply

    def measure(self, label: str, action: Any, repeats: int = 20) -> dict[str, Any]:
        per_call: list[int] = []
        latencies: list[float] = []
        total: Counter[str] = Counter()
        for _ in range(repeats):
            with count_requests() as counts:
                started = time.perf_counter()
                action()
                latencies.append((time.perf_counter() - started) * 1000)
            per_call.append(sum(counts.values()))
            total.update(counts)
        breakdown = ", ".join(f"{name} {count / repeats:g}" for name, count in sorted(total.items()))
        return {
            "operation": label,
            "requests": statistics.mean(per_call),
            "breakdown": breakdown,
            "p50_ms": statistics.median(latencies),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grow", default="1000,3000", help="appeal counts to grow the table to, comma separated")
    args = parser.parse_args()
    sizes = [int(size) for size in args.grow.split(",") if size]

    # The test client applies the dev stage's TABLE_PREFIX during calls; the
    # database is fresh (in memory), so the default prefix is ours alone.
    os.environ["TABLE_PREFIX"] = "leadcrm-dev"
    with dynamodb() as engine:
        create_tables()
        with Client(app, stage_name="dev") as client:
            bench = Bench(client)
            ops = [bench.call("post", "/operators", {"name": f"Operator {i}", "max_load": 1000})[1] for i in range(5)]
            source = bench.call("post", "/sources", {"name": "Telegram Bot"})[1]
            bench.call("put", f"/sources/{source['id']}/weights", [{"operator_id": o["id"], "weight": 10} for o in ops])
            full = bench.call("post", "/sources", {"name": "Full"})[1]
            busy = bench.call("post", "/operators", {"name": "Busy", "max_load": 0})[1]
            bench.call("put", f"/sources/{full['id']}/weights", [{"operator_id": busy["id"], "weight": 10}])
            bench.appeal(source["id"], message_id="repeat-me")
            to_close = [bench.appeal(source["id"]) for _ in range(20)]

            rows = [
                bench.measure("POST /appeals (assigned, 5 operators)", lambda: bench.appeal(source["id"])),
                bench.measure("POST /appeals (waiting: nobody free)", lambda: bench.appeal(full["id"])),
                bench.measure(
                    "POST /appeals (repeated message_id)", lambda: bench.appeal(source["id"], message_id="repeat-me")
                ),
                bench.measure(
                    "POST /appeals/{id}/close",
                    lambda: bench.call("post", f"/appeals/{to_close.pop()['id']}/close"),
                ),
                bench.measure("GET /stats/distribution", lambda: bench.call("get", "/stats/distribution")),
            ]
            growth = []
            existing = bench.sequence
            for size in sizes:
                while bench.sequence < size:
                    bench.appeal(source["id"])
                result = bench.measure("POST /appeals (assigned)", lambda: bench.appeal(source["id"]))
                growth.append((size, result))

    print(f"\nEngine: {engine}; 5 operators on the source; 20 calls per row.\n")
    print("| operation | DynamoDB requests | by API | p50 ms |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['operation']} | {row['requests']:g} | {row['breakdown']} | {row['p50_ms']:.1f} |")
    print("\nCost of one more intake as the appeals table grows:\n")
    print("| appeals already stored | DynamoDB requests per intake | p50 ms |")
    print("|---|---|---|")
    print(f"| {existing} | {rows[0]['requests']:g} | {rows[0]['p50_ms']:.1f} |")
    for size, result in growth:
        print(f"| {size} | {result['requests']:g} | {result['p50_ms']:.1f} |")


if __name__ == "__main__":
    main()
