"""Lead scoring: how fast the rescoring job scores changed leads on DynamoDB
Local, what it costs in requests, and how long the trainer takes.

1. Rescoring. Per size, fresh tables hold `--background` leads already scored
   (unchanged) plus N leads whose inputs changed (`rescore_due` set), spread
   over 8 sources, all written with `Lead.batch_write()`. One
   `rescore_changed()` runs under the request counter and a timer: leads
   scored per second, requests per scored lead. A second run then shows the
   idle cost (nothing changed). The job reads the sparse `needs_scoring`
   index, so the unchanged background is never read: the script exits 1 if
   the requests of a run grow with it.
2. Training. `train()` on synthetic CRM-like outcomes with known signal
   (source, business domain with rare values and blanks, message and appeal
   counts, days to outcome) at 10,000 and 100,000 labelled leads: seconds,
   and ROC AUC on a 30% holdout as a sanity check.
3. The training job end to end on DynamoDB Local (`--job-outcomes` labelled
   leads read through the `by_stage` index, trained, stored as a version).

    python -m bench.scoring [--changed 200,1000] [--background 5000]
        [--train-sizes 10000,100000] [--job-outcomes 2000]

Falls back to moto (with a warning) when Java or DynamoDB Local is missing;
request counts still hold there, times do not.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.intake import dynamodb
from chalicelib.core.ids import iso, lead_id_for
from chalicelib.db.tables import LISTED
from chalicelib.models import Lead, Source, count_requests, create_tables
from chalicelib.models.leads import LOST, NEW, RESCORE_DUE, TRANSFERRED
from chalicelib.scoring.base import LeadFeatures
from chalicelib.scoring.metrics import roc_auc
from chalicelib.scoring.service import rescore_changed, train_from_outcomes
from chalicelib.scoring.trainer import stratified_split, train

SOURCES = 8
DOMAINS = ["retail", "logistics", "it", "health", "finance", "education", "food", "travel"] + [
    f"niche-{i}" for i in range(30)
]


def synthetic_lead(rng: random.Random) -> tuple[LeadFeatures, int]:
    """A lead and its outcome, with known signal: messages, a business
    domain and two of the sources raise the odds; time lowers them."""
    source = rng.randrange(SOURCES)
    has_domain = rng.random() < 0.7
    domain = rng.choice(DOMAINS[:8] if rng.random() < 0.9 else DOMAINS[8:]) if has_domain else None
    messages = 1 + int(rng.expovariate(0.4))
    appeals = 1 + int(rng.expovariate(1.5))
    days = rng.expovariate(1 / 10)
    logit = -1.2 + 0.25 * min(messages, 10) + (0.9 if has_domain else 0) + (0.8 if source in (0, 1) else 0)
    logit += 0.3 * (appeals - 1) - 0.05 * days
    label = int(rng.random() < 1 / (1 + math.exp(-logit)))
    features = LeadFeatures(
        source_id=f"src_bench{source:08d}",
        message_count=messages,
        appeals_count=appeals,
        business_domain=domain,
        days_since_created=days,
    )
    return features, label


def lead_row(index: int, features: LeadFeatures, *, due: bool, stage: str, now: datetime) -> Lead:
    created = now - timedelta(days=features.days_since_created)
    external = f"bench:score:{index}"
    row = Lead(
        lead_id_for(external),
        external_id=external,
        source_id=features.source_id,
        stage=stage,
        stage_changed_at=iso(now - timedelta(seconds=index)),
        message_count=features.message_count,
        appeals_count=features.appeals_count,
        business_domain=features.business_domain,
        inputs_version=1,
        created_at=iso(created),
        updated_at=iso(now),
        listed=LISTED,
    )
    if due:
        row.rescore_due = RESCORE_DUE
        row.rescore_since = iso(now - timedelta(seconds=index))
    else:
        row.scored_inputs_version = 1
        row.ai_score = 0.5
        row.scored_at = iso(now)
    return row


def seed(count: int, start: int, *, due: bool, rng: random.Random, stage: str | None = None) -> None:
    now = datetime.now(UTC)
    with Lead.batch_write() as batch:
        for index in range(start, start + count):
            features, label = synthetic_lead(rng)
            chosen = stage or NEW
            if stage == "outcome":
                chosen = TRANSFERRED if label else LOST
            batch.save(lead_row(index, features, due=due, stage=chosen, now=now))


def seed_sources() -> None:
    now = iso(datetime.now(UTC))
    with Source.batch_write() as batch:
        for i in range(SOURCES):
            batch.save(
                Source(
                    f"src_bench{i:08d}",
                    name=f"Bench source {i}",
                    strategy="weighted",
                    lead_points=0.1 if i < 2 else 0.0,
                    created_at=now,
                    updated_at=now,
                    listed=LISTED,
                )
            )


def breakdown(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))


def bench_rescoring(changed_sizes: list[int], background: int) -> list[dict[str, Any]]:
    rows = []
    for index, changed in enumerate(changed_sizes):
        for extra in (0, background):
            os.environ["TABLE_PREFIX"] = f"bench-scoring-{index}-{changed}-{extra}"
            create_tables()
            seed_sources()
            rng = random.Random(index)
            seed(extra, 0, due=False, rng=rng)
            seed(changed, extra, due=True, rng=rng)
            with count_requests() as counts:
                started = time.perf_counter()
                report = rescore_changed(limit=changed)
                seconds = time.perf_counter() - started
            assert report.scored == changed, report
            with count_requests() as idle:
                again = rescore_changed(limit=changed)
            assert again.scored == 0, again
            rows.append(
                {
                    "changed": changed,
                    "background": extra,
                    "seconds": seconds,
                    "counts": Counter(counts),
                    "idle": Counter(idle),
                }
            )
            print(f"  rescored {changed} changed among {extra} unchanged: {seconds:.2f} s", file=sys.stderr)
    return rows


def bench_trainer(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        rng = random.Random(size)
        data = [synthetic_lead(rng) for _ in range(size)]
        features = [f.model_row() for f, _ in data]
        labels = [label for _, label in data]
        fit, holdout = stratified_split(labels, test_fraction=0.3, seed=0)
        started = time.perf_counter()
        model = train([features[i] for i in fit], [labels[i] for i in fit])
        seconds = time.perf_counter() - started
        auc = roc_auc([labels[i] for i in holdout], model.predict_many([features[i] for i in holdout]))
        started = time.perf_counter()
        train(features, labels)
        full_seconds = time.perf_counter() - started
        rows.append(
            {
                "size": size,
                "fit_seconds": seconds,
                "full_seconds": full_seconds,
                "auc": auc,
                "bytes": len(model.model_dump_json()),
            }
        )
        print(f"  trained on {size}: {full_seconds:.2f} s", file=sys.stderr)
    return rows


def bench_training_job(outcomes: int) -> dict[str, Any]:
    os.environ["TABLE_PREFIX"] = f"bench-scoring-train-{outcomes}"
    create_tables()
    seed(outcomes, 0, due=False, rng=random.Random(7), stage="outcome")
    with count_requests() as counts:
        started = time.perf_counter()
        report = train_from_outcomes()
        seconds = time.perf_counter() - started
    assert report.trained, report
    return {"outcomes": outcomes, "seconds": seconds, "counts": Counter(counts), "report": report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changed", default="200,1000", help="changed leads per rescoring run (default 200,1000)")
    parser.add_argument("--background", type=int, default=5000, help="unchanged leads beside them (default 5000)")
    parser.add_argument("--train-sizes", default="10000,100000", help="labelled leads to train on")
    parser.add_argument("--job-outcomes", type=int, default=2000, help="labelled leads for the end-to-end job")
    args = parser.parse_args()
    logging.getLogger("chalicelib").setLevel(logging.WARNING)
    changed_sizes = [int(s) for s in args.changed.split(",") if s]
    train_sizes = [int(s) for s in args.train_sizes.split(",") if s]

    with dynamodb() as engine:
        os.environ["TABLE_PREFIX"] = "bench-scoring-warmup"
        create_tables()
        seed(50, 0, due=True, rng=random.Random(-1))
        rescore_changed()
        rescoring = bench_rescoring(changed_sizes, args.background)
        job = bench_training_job(args.job_outcomes)
    trainer = bench_trainer(train_sizes)

    print(f"\nEngine: {engine}. Rescoring job, rules scorer, {SOURCES} sources:\n")
    print("| changed leads | unchanged leads | seconds | leads/s | requests | by API | requests when idle |")
    print("|---|---|---|---|---|---|---|")
    for row in rescoring:
        print(
            f"| {row['changed']:,} | {row['background']:,} | {row['seconds']:.2f} "
            f"| {row['changed'] / row['seconds']:.0f} | {sum(row['counts'].values())} "
            f"| {breakdown(row['counts'])} | {breakdown(row['idle'])} |"
        )
    print("\nTrainer (in memory, numpy; fit on 70% then on all):\n")
    print("| labelled leads | seconds (70% fit) | seconds (all) | holdout ROC AUC | model JSON bytes |")
    print("|---|---|---|---|---|")
    for row in trainer:
        print(
            f"| {row['size']:,} | {row['fit_seconds']:.2f} | {row['full_seconds']:.2f} "
            f"| {row['auc']:.3f} | {row['bytes']:,} |"
        )
    report = job["report"]
    print(
        f"\nTraining job end to end on {engine}: {job['outcomes']:,} outcomes read, trained twice, stored as "
        f"version {report.version} in {job['seconds']:.2f} s ({breakdown(job['counts'])}); "
        f"holdout AUC {report.holdout_auc}."
    )

    failed = False
    for changed in changed_sizes:
        pair = [row for row in rescoring if row["changed"] == changed]
        if len({sum(row["counts"].values()) for row in pair}) != 1:
            print(f"\nFAIL: rescoring {changed} changed leads costs more with unchanged leads beside them.")
            failed = True
    if any(sum(row["idle"].values()) != 1 for row in rescoring):
        print("\nFAIL: an idle rescoring run costs more than one Query.")
        failed = True
    if failed:
        sys.exit(1)
    print("\nFlat: the requests of a run follow the changed leads only; an idle run is one Query.")


if __name__ == "__main__":
    main()
