"""Scheduled functions: the waiting line and SLA sweep every minute, the
counter audit every 15 minutes. Each reports its figures as CloudWatch
metrics (EMF), so drift above zero can raise an alarm."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from chalice import Blueprint, Rate
from chalice.app import CloudWatchEvent

from chalicelib.schemas.jobs import AuditReport, ReassignReport
from chalicelib.services.jobs import JOBS

bp = Blueprint(__name__)
metrics = Metrics(namespace="LeadCRM", service="leadcrm")


def _every(name: str) -> Rate:
    return Rate(JOBS[name].every_minutes, unit=Rate.MINUTES)


@bp.schedule(_every("reassign"), name="reassign", description="Serve waiting lines; reclaim lapsed SLAs")
def reassign(event: CloudWatchEvent) -> None:
    report = JOBS["reassign"].run()
    assert isinstance(report, ReassignReport)
    for name in ("lapsed", "reassigned", "returned_to_line", "escalated", "drained", "still_waiting"):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=getattr(report, name))
    metrics.flush_metrics()


@bp.schedule(_every("audit"), name="audit", description="Recount operator loads from the appeals index")
def audit(event: CloudWatchEvent) -> None:
    report = JOBS["audit"].run()
    assert isinstance(report, AuditReport)
    metrics.add_metric(name="counter_drift", unit=MetricUnit.Count, value=report.drift_total)
    metrics.flush_metrics()
