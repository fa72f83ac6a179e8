"""Scheduled functions: the waiting line and SLA sweep every minute, the
follow-up of accepted appeals every minute, the counter audit every 15
minutes, rescoring changed leads every 5 minutes and training the scoring
model daily. Each reports its figures as CloudWatch metrics (EMF), so drift above zero can raise an alarm.

Each run's log lines carry the EventBridge event id as the correlation id;
its metrics (these and whatever the services recorded) are flushed once at
the end of the run."""

from __future__ import annotations

import time

from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Blueprint, CloudWatchEvent, Rate

from chalicelib.core.observability import COUNTER_DRIFT, invocation, metrics
from chalicelib.jobs import JOBS, MINUTES_PER_DAY
from chalicelib.schemas.jobs import (
    AuditReport,
    FollowupReport,
    ReassignReport,
    RescoreReport,
    ShiftReport,
    TrainingReport,
    TuneReport,
)

bp = Blueprint(__name__)


def _every(name: str) -> Rate:
    minutes = JOBS[name].every_minutes
    if minutes % MINUTES_PER_DAY == 0:
        return Rate(minutes // MINUTES_PER_DAY, unit=Rate.DAYS)
    return Rate(minutes, unit=Rate.MINUTES)


def _count(name: str, value: float) -> None:
    # Per-run totals are reported even when zero: the series stay dense for alarms.
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@bp.schedule(_every("reassign"), name="reassign", description="Serve waiting lines; reclaim lapsed SLAs")
def reassign(event: CloudWatchEvent) -> None:
    with invocation(event.event_id):
        report = JOBS["reassign"].run()
        assert isinstance(report, ReassignReport)
        for name in ("lapsed", "reassigned", "returned_to_line", "escalated", "drained", "still_waiting"):
            _count(name, getattr(report, name))


@bp.schedule(_every("audit"), name="audit", description="Recount operator loads from the appeals index")
def audit(event: CloudWatchEvent) -> None:
    with invocation(event.event_id):
        report = JOBS["audit"].run()
        assert isinstance(report, AuditReport)
        _count(COUNTER_DRIFT, report.drift_total)


@bp.schedule(_every("rescore"), name="rescore", description="Score leads whose scoring inputs changed")
def rescore(event: CloudWatchEvent) -> None:
    with invocation(event.event_id):
        started = time.monotonic()
        report = JOBS["rescore"].run()
        assert isinstance(report, RescoreReport)
        for name in ("scored", "changed_meanwhile", "fallbacks"):
            _count(f"leads_{name}", getattr(report, name))
        metrics.add_metric(name="rescore_seconds", unit=MetricUnit.Seconds, value=time.monotonic() - started)


@bp.schedule(_every("train"), name="train", description="Retrain the lead scoring model on outcomes")
def train(event: CloudWatchEvent) -> None:
    with invocation(event.event_id):
        report = JOBS["train"].run()
        assert isinstance(report, TrainingReport)
        _count("model_trained", int(report.trained))
        if report.holdout_auc is not None:
            metrics.add_metric(name="model_holdout_auc", unit=MetricUnit.NoUnit, value=report.holdout_auc)


@bp.schedule(_every("tune"), name="tune", description="Auto-tune weights; renew conversion estimates")
def tune(event: CloudWatchEvent) -> None:
    with invocation(event.event_id):
        report = JOBS["tune"].run()
        assert isinstance(report, TuneReport)
        for name in ("sources_tuned", "weights_changed"):
            _count(name, getattr(report, name))


@bp.schedule(_every("shifts"), name="shifts", description="Start and end operators' shifts as their schedules say")
def shifts(event: CloudWatchEvent) -> None:
    with invocation(event.event_id):
        report = JOBS["shifts"].run()
        assert isinstance(report, ShiftReport)
        for name in ("due", "went_on", "went_off", "returned", "drained"):
            _count(f"shifts_{name}", getattr(report, name))


@bp.schedule(_every("followup"), name="followup", description="Remind, then escalate or return, quiet accepted appeals")
def followup(event: CloudWatchEvent) -> None:
    with invocation(event.event_id):
        report = JOBS["followup"].run()
        assert isinstance(report, FollowupReport)
        for name in ("due", "reminded", "escalated", "reassigned", "returned_to_line", "skipped"):
            _count(f"followup_{name}", getattr(report, name))
