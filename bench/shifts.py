"""DynamoDB requests of one shift-job run as the team grows, most operators not changing state.

Per row the tables are fresh (their own TABLE_PREFIX) and hold `operators` operators, each
with a schedule stored on its row (as PUT /operators/{id}/schedule leaves it), written with
`Operator.batch_write()`. `changing` of them are due: their shift ended a moment ago
(`next_transition_at` in the past, still `available`); every other one's next transition is
hours away. One `run_shift_transitions()` runs under the request counter; it must move
exactly the due ones (off_shift) and touch nobody else.

The job reads the sparse `by_next_transition` index (`next_transition_at <= now`), then only
those rows: its requests grow with the operators changing state, never with the team. The
script exits 1 if two rows with the same `changing` differ in requests, or if a run moved
anyone but the due ones.

    python -m bench.shifts [--rows 10:1,1000:10,10000:100,10000:10]

Falls back to moto (with a warning) when Java or DynamoDB Local is missing; request counts
still hold there.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta

from bench.intake import dynamodb
from chalicelib.core.ids import iso, utc_now
from chalicelib.db.tables import LISTED
from chalicelib.directory.shifts import run_shift_transitions
from chalicelib.models import Operator, count_requests, create_tables
from chalicelib.models.operators import SHIFT_DUE
from chalicelib.schemas.schedules import WeeklySchedule

DEFAULT_ROWS = "10:1,1000:10,10000:100,10000:10,10000:0"


def _off_now() -> WeeklySchedule:
    """No weekly hours, extra hours two days ahead: off shift now, whenever now is."""
    day = (utc_now() + timedelta(days=2)).date()
    extra = {"kind": "extra", "day": day.isoformat(), "intervals": [{"start": "09:00", "end": "17:00"}]}
    return WeeklySchedule.model_validate({"time_zone": "Europe/Kyiv", "exceptions": [extra]})


def seed(operators: int, changing: int) -> None:
    schedule = _off_now().model_dump_json()
    now = utc_now()
    past, later = iso(now - timedelta(seconds=30)), iso(now + timedelta(hours=6))
    with Operator.batch_write() as batch:
        for number in range(operators):
            due = number < changing
            batch.save(
                Operator(
                    f"op_bench{number:06d}",
                    name=f"Operator {number}",
                    is_active=True,
                    max_load=10,
                    active_load=0,
                    created_at=iso(now),
                    updated_at=iso(now),
                    listed=LISTED,
                    schedule=schedule,
                    time_zone="Europe/Kyiv",
                    shift_due=SHIFT_DUE,
                    next_transition_at=past if due else later,
                    presence="available" if due else "off_shift",
                )
            )


def measure(operators: int, changing: int) -> dict[str, object]:
    os.environ["TABLE_PREFIX"] = f"bench-shifts-{uuid.uuid4().hex[:8]}"
    create_tables()
    started = time.monotonic()
    seed(operators, changing)
    seeded = time.monotonic() - started
    with count_requests() as counts:
        report = run_shift_transitions()
    if (report.due, report.went_off) != (changing, changing):
        print(f"ERROR: expected {changing} due and moved, got {report.model_dump()}", file=sys.stderr)
        sys.exit(1)
    return {
        "operators": operators,
        "changing": changing,
        "requests": sum(counts.values()),
        "breakdown": dict(sorted(counts.items())),
        "seed_seconds": round(seeded, 1),
    }


def breakdown(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in Counter(counts).most_common())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default=DEFAULT_ROWS, help="operators:changing pairs, comma-separated")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the job logs one line per operator moved
    pairs = [tuple(int(part) for part in pair.split(":")) for pair in args.rows.split(",")]
    with dynamodb() as engine:
        rows = [measure(operators, changing) for operators, changing in pairs]
    print(f"Shift job, one run, on {engine}: DynamoDB requests")
    print(f"{'operators':>10} {'changing':>9} {'requests':>9}  breakdown")
    for row in rows:
        print(f"{row['operators']:>10} {row['changing']:>9} {row['requests']:>9}  {breakdown(row['breakdown'])}")  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(rows, indent=2))
    by_changing: dict[object, set[object]] = {}
    for row in rows:
        by_changing.setdefault(row["changing"], set()).add(row["requests"])
    if any(len(requests) > 1 for requests in by_changing.values()):
        print("ERROR: the same number of operators changing cost different requests", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
