"""DynamoDB requests and time of one scheduled drain as the appeal history grows.

One source served by 3 weighted operators (response SLA on, so the run's SLA
check is measured too). Per history size the tables are fresh (their own
TABLE_PREFIX) and are seeded with that many closed appeals, written with
`Appeal.batch_write()` as the services leave them after a close: spread over
the 3 operators (by_operator, `closed#<created_at>#<id>`) and over many leads
(by_lead), with their lead rows and the source/weight counters to match.

Then, per round: 10 appeals arrive through the intake service while every
operator is inactive (so they wait), the operators are switched on directly
on their rows (the service would drain at once), and one
`run_reassignment()` runs under the request counter and a timer. It must
hand out all 10. The 10 are then closed through the service. Warm-up
drains first (5 on throwaway tables, then 1 per size), then `--repeats`
measured rounds per size; the table shows their median time.

The drain reads the sparse waiting line, so its cost is O(waiting), never
O(history): the script exits 1 if the requests of a drain differ between
rounds or sizes.

    python -m bench.reassign [--sizes 0,10000,100000] [--repeats 5]

Falls back to moto (with a warning) when Java or DynamoDB Local is missing;
request counts still hold there, times do not (moto scans to query an index).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.intake import dynamodb
from chalicelib.access.principal import SYSTEM
from chalicelib.core.ids import iso, lead_id_for
from chalicelib.db.tables import LISTED
from chalicelib.directory import operators, sources
from chalicelib.directory.weights import replace_weights
from chalicelib.models import Appeal, Lead, Operator, Source, Weight, count_requests, create_tables
from chalicelib.models.appeals import CLOSED, WAITING, operator_status_key
from chalicelib.routing import appeals
from chalicelib.routing.intake import submit_appeal
from chalicelib.routing.reassignment import run_reassignment
from chalicelib.schemas.appeals import AppealCreate
from chalicelib.schemas.operators import OperatorCreate
from chalicelib.schemas.sources import SourceCreate, WeightIn, WeightSet

WAITING_APPEALS = 10
WEIGHTS = (50, 30, 20)  # the 3 operators' weights; history is spread the same way
MAX_LOAD = 10  # each: 30 free slots for the 10 waiting appeals
APPEALS_PER_LEAD = 4  # on average, in the seeded history
SEED_THREADS = 4
SEED_CHUNK = 1000  # appeals per seeding task (one batch_write context)
HISTORY_DAYS = 365
WARMUP_ROUNDS = 5  # unmeasured drains before the first size


class Setup:
    """One size's tables: a source, its 3 operators, and the seeded history."""

    def __init__(self, history: int, seed: int) -> None:
        self.history = history
        self.rng = random.Random(seed)
        self.team = [
            operators.create_operator(OperatorCreate(name=f"Operator {i}", is_active=False, max_load=MAX_LOAD))
            for i in range(len(WEIGHTS))
        ]
        self.source_id = sources.create_source(SourceCreate(name="Telegram Bot", response_sla_seconds=3600)).id
        replace_weights(
            self.source_id,
            WeightSet([WeightIn(operator_id=op.id, weight=w) for op, w in zip(self.team, WEIGHTS, strict=True)]),
        )
        self.leads = max(history // APPEALS_PER_LEAD, WAITING_APPEALS)
        self.round = 0

    # -- history ------------------------------------------------------------

    def seed(self) -> float:
        """Writes the closed history (and its leads); returns the seconds it took."""
        started = time.perf_counter()
        if self.history == 0:
            return 0.0
        chunks = [(start, min(start + SEED_CHUNK, self.history)) for start in range(0, self.history, SEED_CHUNK)]
        done = [0]
        lock = threading.Lock()
        per_operator: Counter[int] = Counter()
        per_lead: Counter[int] = Counter()
        step = max(self.history // 10, SEED_CHUNK)

        def write(chunk: tuple[int, int]) -> None:
            rng = random.Random(f"{self.history}:{chunk[0]}")
            ops: Counter[int] = Counter()
            leads: Counter[int] = Counter()
            with Appeal.batch_write() as batch:
                for _ in range(*chunk):
                    op = rng.choices(range(len(WEIGHTS)), weights=WEIGHTS)[0]
                    lead = rng.randrange(self.leads)
                    batch.save(self.closed_appeal(rng, op, lead))
                    ops[op] += 1
                    leads[lead] += 1
            with lock:
                per_operator.update(ops)
                per_lead.update(leads)
                before = done[0]
                done[0] += chunk[1] - chunk[0]
                if done[0] // step > before // step or done[0] == self.history:
                    elapsed = time.perf_counter() - started
                    print(
                        f"  seeded {done[0]:>7}/{self.history} closed appeals"
                        f" ({elapsed:.0f} s, {done[0] / elapsed:.0f}/s)",
                        file=sys.stderr,
                        flush=True,
                    )

        with ThreadPoolExecutor(SEED_THREADS) as pool:
            list(pool.map(write, chunks))
        self.seed_leads(per_lead)
        # The counters the services would have moved on the way.
        Source(self.source_id).update(actions=[Source.appeals_total.add(self.history)])
        for index, count in per_operator.items():
            Weight(self.source_id, self.team[index].id).update(actions=[Weight.assigned_total.add(count)])
        seconds = time.perf_counter() - started
        self.check_indexes(per_lead)
        return seconds

    def check_indexes(self, per_lead: Counter[int]) -> None:
        """The history sits in by_operator and by_lead like real closed appeals (not timed)."""
        in_by_operator = sum(
            Appeal.by_operator.count(op.id, Appeal.operator_status_key.startswith(f"{CLOSED}#")) for op in self.team
        )
        lead, expected = per_lead.most_common(1)[0]
        in_by_lead = Appeal.by_lead.count(lead_id_for(f"bench:lead:{lead}"))
        assert in_by_operator == self.history and in_by_lead == expected, (in_by_operator, in_by_lead, expected)

    def closed_appeal(self, rng: random.Random, op: int, lead: int) -> Appeal:
        now = datetime.now(UTC)
        created = now - timedelta(days=HISTORY_DAYS * rng.random(), seconds=3600)
        assigned = created + timedelta(milliseconds=rng.randrange(20, 400))
        accepted = assigned + timedelta(seconds=rng.randrange(5, 1800))
        closed = accepted + timedelta(seconds=rng.randrange(60, 86_400))
        # Time-sortable like chalicelib.core.ids.new_id, but from the creation time.
        appeal_id = f"ap_{int(created.timestamp() * 1000):012x}{rng.getrandbits(48):012x}"
        operator = self.team[op]
        at = iso(created)
        return Appeal(
            appeal_id,
            lead_id=lead_id_for(f"bench:lead:{lead}"),
            lead_external_id=f"bench:lead:{lead}",
            source_id=self.source_id,
            message="How much does it cost?",
            status=CLOSED,
            created_at=at,
            assigned_at=iso(assigned),
            accepted_at=iso(accepted),
            closed_at=iso(closed),
            operator_id=operator.id,
            operator_name=operator.name,
            operator_status_key=operator_status_key(CLOSED, at, appeal_id),
            reassign_count=0,
            message_count=1,
            last_message_at=at,
            events=[
                _event("created", at),
                _event("assigned", iso(assigned), operator_id=operator.id),
                _event("accepted", iso(accepted), operator_id=operator.id),
                _event("closed", iso(closed), operator_id=operator.id),
            ],
        )

    def seed_leads(self, per_lead: Counter[int]) -> None:
        now = iso(datetime.now(UTC))
        with Lead.batch_write() as batch:
            for lead, count in per_lead.items():
                batch.save(
                    Lead(
                        lead_id_for(f"bench:lead:{lead}"),
                        external_id=f"bench:lead:{lead}",
                        appeals_count=count,
                        created_at=now,
                        updated_at=now,
                        listed=LISTED,
                    )
                )

    # -- one round ------------------------------------------------------------

    def set_active(self, active: bool) -> None:
        # Straight on the rows: the service would drain the line right away.
        for op in self.team:
            Operator(op.id).update(actions=[Operator.is_active.set(active)], condition=Operator.operator_id.exists())

    def measure(self) -> tuple[Counter[str], float]:
        """10 appeals wait, capacity appears, one scheduled run hands them out."""
        self.round += 1
        waiting = []
        for k in range(WAITING_APPEALS):
            # Returning leads (they have history), first message of a new appeal.
            lead = self.rng.randrange(self.leads)
            intake = submit_appeal(
                AppealCreate(
                    lead_external_id=f"bench:lead:{lead}",
                    source_id=self.source_id,
                    message=f"Round {self.round}, question {k}",
                ),
                viewer=SYSTEM,
            )
            assert intake.created and intake.appeal.status == WAITING, intake
            waiting.append(intake.appeal.id)
        self.set_active(True)
        with count_requests() as counts:
            started = time.perf_counter()
            report = run_reassignment(rng=self.rng)
            elapsed_ms = (time.perf_counter() - started) * 1000
        assert report.drained == WAITING_APPEALS and report.still_waiting == 0, report
        assert report.lapsed == 0, report
        # Back to the starting state: operators off, the 10 closed (as history).
        self.set_active(False)
        for appeal_id in waiting:
            appeals.close_appeal(appeal_id, viewer=SYSTEM)
        return Counter(counts), elapsed_ms


def _event(kind: str, at: str, **fields: str) -> str:
    return json.dumps({"type": kind, "at": at, **fields}, separators=(",", ":"))


def breakdown(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes",
        default="0,10000,100000",
        help="closed appeals already stored, comma separated (default 0,10000,100000)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="measured drains per size (default 5)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    # The run logs a JSON line per job; the table is what we want on stdout.
    logging.getLogger("leadcrm").setLevel(logging.WARNING)

    rows: list[dict[str, Any]] = []
    with dynamodb() as engine:
        # Warm the JVM and the connection pools on throwaway tables first.
        os.environ["TABLE_PREFIX"] = "bench-reassign-warmup"
        create_tables()
        warmup = Setup(0, seed=-1)
        for _ in range(WARMUP_ROUNDS):
            warmup.measure()
        for index, size in enumerate(sizes):
            # Fresh tables per size, so each history is exactly `size` closed appeals.
            os.environ["TABLE_PREFIX"] = f"bench-reassign-{index}-{size}"
            create_tables()
            print(f"history {size}: seeding ...", file=sys.stderr, flush=True)
            setup = Setup(size, seed=index)
            seconds = setup.seed()
            setup.measure()  # warm-up: first reads of the new tables
            rounds = [setup.measure() for _ in range(args.repeats)]
            rows.append({"size": size, "seed_s": seconds, "rounds": rounds})

    print(
        f"\nEngine: {engine}; one source, {len(WEIGHTS)} operators (weights {'/'.join(map(str, WEIGHTS))}, "
        f"max_load {MAX_LOAD}), {WAITING_APPEALS} waiting appeals per drain;"
    )
    print(f"after warm-up, {args.repeats} measured drains per size (time: median, min-max).\n")
    print("| closed appeals stored | seeding s | DynamoDB requests per drain | by API | ms per drain (min-max) |")
    print("|---|---|---|---|---|")
    for row in rows:
        counts = [c for c, _ in row["rounds"]]
        times = [ms for _, ms in row["rounds"]]
        shown = counts[0] if all(c == counts[0] for c in counts) else None
        print(
            f"| {row['size']:,} | {row['seed_s']:.0f} "
            f"| {sum(shown.values()) if shown else 'varies'} "
            f"| {breakdown(shown) if shown else ' / '.join(breakdown(c) for c in counts)} "
            f"| {statistics.median(times):.1f} ({min(times):.1f}-{max(times):.1f}) |"
        )

    every = [counts for row in rows for counts, _ in row["rounds"]]
    if any(counts != every[0] for counts in every):
        print("\nFAIL: the requests of a drain change with the history size (or between rounds).")
        sys.exit(1)
    medians = [statistics.median(ms for _, ms in row["rounds"]) for row in rows]
    print(
        f"\nFlat: {sum(every[0].values())} requests per drain at every size; "
        f"median time ratio largest/smallest history {medians[-1] / medians[0]:.2f}."
    )


if __name__ == "__main__":
    main()
