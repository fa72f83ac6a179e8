"""The scheduled jobs, by name: what the Lambda schedules, `make run`'s
scheduler, `make reassign` and the admin route all run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core.errors import NotFound

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.schemas.common import Output

__all__ = ["JOBS", "MINUTES_PER_DAY", "Job", "run_job"]


@dataclass(frozen=True)
class Job:
    name: str
    every_minutes: int
    run: Callable[[], Output]


def _reassign() -> Output:
    from chalicelib.routing.reassignment import run_reassignment

    return run_reassignment()


def _audit() -> Output:
    from chalicelib.routing.audit import audit_counters

    return audit_counters()


def _rescore() -> Output:
    from chalicelib.scoring.service import rescore_changed

    return rescore_changed()


def _train() -> Output:
    from chalicelib.scoring.service import train_from_outcomes

    return train_from_outcomes()


def _tune() -> Output:
    from chalicelib.insight.advice import run_tuning

    return run_tuning()


def _shifts() -> Output:
    from chalicelib.directory.shifts import run_shift_transitions

    return run_shift_transitions()


def _followup() -> Output:
    from chalicelib.routing.followup_job import run_followup

    return run_followup()


MINUTES_PER_DAY = 24 * 60

JOBS: dict[str, Job] = {
    # Serves the waiting line and reclaims appeals past their response SLA.
    "reassign": Job("reassign", 1, _reassign),
    # Recomputes every operator's load counter from the appeals index.
    "audit": Job("audit", 15, _audit),
    # Scores the leads whose scoring inputs changed since their last score.
    "rescore": Job("rescore", 5, _rescore),
    # Retrains the scoring model on the CRM's outcomes (transferred vs lost).
    "train": Job("train", MINUTES_PER_DAY, _train),
    # Moves auto_tune sources' weights toward the suggestions; renews score-aware conversion estimates.
    "tune": Job("tune", MINUTES_PER_DAY, _tune),
    # Moves operators whose shift starts or ends (the sparse next-transition index: O(changing)).
    "shifts": Job("shifts", 1, _shifts),
    # Reminds operators of accepted appeals gone quiet; escalates or returns them after a second period.
    "followup": Job("followup", 1, _followup),
}


def run_job(name: str) -> Output:
    job = JOBS.get(name)
    if job is None:
        raise NotFound(f"no job named {name[:64]!r}; known: {', '.join(sorted(JOBS))}")
    return job.run()
