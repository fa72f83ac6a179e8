"""DynamoDB requests of one scheduled follow-up run as the number of accepted appeals grows.

Per size (0, 100, 10,000 accepted appeals; fresh tables each) the appeals are
written as accept leaves them on a source with `followup_seconds`: active, with
their operator, in the sparse `followup_due` index. 1 % are due now (quiet for a
period); the rest are due later. Then three runs, each under the request
counter:

* remind: the due 1 % get their reminder (one conditional UpdateItem each);
* quiet: straight after, nothing is due (the next look is a period later);
* act: a period later, the reminded 1 % are escalated (one transaction each:
  the appeal, its operator's and weight row's counters, the lead membership).

The job reads the due appeals from the index, so its cost is O(due), never
O(accepted appeals): the script exits 1 if a run's requests are not
`Query pages + writes for the due ones`.

    python -m bench.followup [--sizes 0,100,10000]

DynamoDB Local when Java is there, else moto (request counts hold on both).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bench.intake import dynamodb
from chalicelib.core.ids import iso, lead_id_for
from chalicelib.db.tables import LISTED
from chalicelib.directory import operators, sources
from chalicelib.directory.weights import replace_weights
from chalicelib.models import Appeal, Lead, Operator, Weight, count_requests, create_tables
from chalicelib.models.appeals import ACTIVE, FOLLOWUP_QUEUE, operator_status_key
from chalicelib.routing.followup_job import run_followup
from chalicelib.routing.transitions import followup_due_key
from chalicelib.schemas.operators import OperatorCreate
from chalicelib.schemas.sources import SourceCreate, WeightIn, WeightSet

if TYPE_CHECKING:
    from collections import Counter

PERIOD = 3600
DUE_SHARE = 0.01


def seed(size: int, now: datetime) -> int:
    """`size` accepted appeals of one follow-up source, 1 % due at `now`; returns how many are due."""
    operator = operators.create_operator(OperatorCreate(name="Anna", max_load=1000))
    source = sources.create_source(SourceCreate(name="Web chat", followup_seconds=PERIOD))
    replace_weights(source.id, WeightSet([WeightIn(operator_id=operator.id, weight=10)]))
    due = round(size * DUE_SHARE)
    at = iso(now)
    with Appeal.batch_write() as appeals, Lead.batch_write() as leads:
        for number in range(size):
            appeal_id = f"ap_bench{number:08d}{uuid.uuid4().hex[:8]}"
            lead_id = lead_id_for(f"bench:lead:{number}")
            # Due ones went quiet a period (and a minute) ago; the others saw activity a minute
            # after the first run (so none of them is due in the act run either).
            quiet_since = now + timedelta(seconds=-(PERIOD + 60) if number < due else 60)
            accepted = iso(quiet_since)
            appeals.save(
                Appeal(
                    appeal_id,
                    lead_id=lead_id,
                    lead_external_id=f"bench:lead:{number}",
                    source_id=source.id,
                    message="How much is it?",
                    status=ACTIVE,
                    created_at=accepted,
                    assigned_at=accepted,
                    accepted_at=accepted,
                    operator_id=operator.id,
                    operator_name=operator.name,
                    operator_status_key=operator_status_key(ACTIVE, accepted, appeal_id),
                    reassign_count=0,
                    message_count=1,
                    last_message_at=accepted,
                    followup_seconds=PERIOD,
                    followup_action="escalate",
                    last_activity_at=accepted,
                    followup_queue=FOLLOWUP_QUEUE,
                    followup_due_at=followup_due_key(appeal_id, quiet_since + timedelta(seconds=PERIOD)),
                    events=[json.dumps({"type": "accepted", "at": accepted, "operator_id": operator.id})],
                )
            )
            leads.save(
                Lead(
                    lead_id,
                    external_id=f"bench:lead:{number}",
                    appeals_count=1,
                    created_at=at,
                    updated_at=at,
                    listed=LISTED,
                )
            )
    # The counters accept left behind: every appeal holds a slot.
    Operator(operator.id).update(actions=[Operator.active_load.set(size)])
    Weight(source.id, operator.id).update(actions=[Weight.active_count.set(size), Weight.assigned_total.set(size)])
    return due


def measure(size: int) -> list[dict[str, object]]:
    os.environ["TABLE_PREFIX"] = f"bench-followup-{uuid.uuid4().hex[:8]}"
    create_tables()
    now = datetime.now(UTC)
    started = time.perf_counter()
    due = seed(size, now)
    print(f"  seeded {size} accepted appeals in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    rows = []
    for name, moment, expect in (
        ("remind", now, "reminded"),
        ("quiet", now + timedelta(seconds=1), None),
        ("act", now + timedelta(seconds=PERIOD + 30), "escalated"),
    ):
        with count_requests() as counts:
            timer = time.perf_counter()
            report = run_followup(now=moment)
            ms = (time.perf_counter() - timer) * 1000
        handled = getattr(report, expect) if expect else 0
        expected_due = due if expect else 0
        if report.due != expected_due or handled != expected_due:
            sys.exit(f"{name} at {size}: {report} (expected {expected_due} due and handled)")
        writes = sum(n for op, n in counts.items() if op != "Query")
        if writes != handled or counts["Query"] > 1 + handled // 100:
            sys.exit(f"{name} at {size}: requests {dict(counts)} are not O(due)")
        rows.append({"size": size, "run": name, "due": report.due, "counts": counts, "ms": ms})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="0,100,10000")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    with dynamodb() as engine:
        rows = [row for size in sizes for row in measure(size)]
    print(f"Follow-up job on {engine}: DynamoDB requests per run, 1 % of the accepted appeals due\n")
    print("| accepted appeals | run | due | requests | by API | ms |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        counts: Counter[str] = row["counts"]  # type: ignore[assignment]
        by_api = ", ".join(f"{op} {n}" for op, n in sorted(counts.items()))
        print(
            f"| {row['size']:,} | {row['run']} | {row['due']} | {sum(counts.values())} | {by_api or '-'} |"
            f" {row['ms']:.0f} |"
        )


if __name__ == "__main__":
    main()
