"""Structured logs and CloudWatch metrics: one logger and one metrics sink for
every function (HTTP, SQS, schedules).

Logs are JSON lines (Powertools Logger) carrying a `correlation_id`: the API
Gateway request id for an HTTP request, the SQS `messageId` while an intake
record is handled, the EventBridge event id for a scheduled run. They name
things by id only (appeal_id, lead_id, operator_id, source_id, deal_id):
never a phone, e-mail, name, message text, token or key.

Metrics are CloudWatch EMF lines (namespace `LeadCRM`, dimension
`service=leadcrm`), recorded only inside an invocation opened by `invocation`
and flushed once when it ends; one that recorded nothing prints nothing.
Work done outside an invocation (benchmarks, `make reassign`, unit tests that
call services directly) records none, so nothing piles up in memory or leaks
into a later invocation's flush.
"""

from __future__ import annotations

import logging
import traceback
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from collections.abc import Iterator

SERVICE = "leadcrm"
NAMESPACE = "LeadCRM"

# Built at import on purpose: this must configure the `leadcrm` logger before
# `Chalice(app_name="leadcrm")` does, so Chalice keeps our JSON handler instead
# of adding its plain-text one (and its ERROR-only level).
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


class WithoutExceptionText(logging.Filter):
    """An unexpected exception's text can quote whatever it was handed (a
    validation error quotes its input, a KeyError its key): the line keeps the
    exception's type and where it was raised, never its text. Chalice's own
    "Caught exception" line for a 500 goes through this logger too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            kind, error, trace = record.exc_info
            causes: list[str] = []
            cause = (error.__cause__ or error.__context__) if error is not None else None
            while cause is not None and len(causes) < 5:
                causes.append(type(cause).__name__)
                cause = cause.__cause__ or cause.__context__
            frames = "".join(traceback.format_tb(trace))
            after = f" (after {', '.join(causes)})" if causes else ""
            record.exception = f"Traceback (most recent call last):\n{frames}{kind.__name__}: <text withheld>{after}"
            record.exception_name = kind.__name__
            record.exc_info, record.exc_text = None, None
        return True


logger.addFilter(WithoutExceptionText())

# At DEBUG these print whole DynamoDB requests (the lead's phone, e-mail and
# message) or a failed record's exception text. A level set explicitly (a
# developer debugging the driver) wins.
_CHATTY_LIBRARIES = ("botocore", "boto3", "pynamodb", "urllib3", "aws_lambda_powertools")
for _name in _CHATTY_LIBRARIES:
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.INFO)

# --- metric names (CloudWatch alarms and dashboards use these) -------------
APPEALS_RECEIVED = "appeals_received"
APPEALS_ASSIGNED = "appeals_assigned"
APPEALS_WAITING = "appeals_waiting"
APPEALS_DRAINED = "appeals_drained"
APPEALS_REASSIGNED = "appeals_reassigned"
APPEALS_ESCALATED = "appeals_escalated"
SLA_LAPSES = "sla_lapses"
INTAKE_RECORDS_FAILED = "intake_records_failed"
COUNTER_DRIFT = "counter_drift"
SCORING_LATENCY_MS = "scoring_latency_ms"

_recording: ContextVar[bool] = ContextVar("leadcrm_metrics_recording", default=False)
_CORRELATION_KEY = "correlation_id"


def count(name: str, value: int = 1) -> None:
    if _recording.get():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def milliseconds(name: str, value: float) -> None:
    if _recording.get():
        metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=round(value, 3))


@contextmanager
def correlated(correlation_id: str | None) -> Iterator[None]:
    """Every log line inside carries `correlation_id`; the previous one comes back after.

    Thread-local keys: `chalice local` serves requests on threads, whose ids must not mix.
    """
    previous = logger.thread_safe_get_current_keys().get(_CORRELATION_KEY)
    logger.thread_safe_append_keys(**{_CORRELATION_KEY: correlation_id})
    try:
        yield
    finally:
        if previous is None:
            logger.thread_safe_remove_keys([_CORRELATION_KEY])
        else:
            logger.thread_safe_append_keys(**{_CORRELATION_KEY: previous})


@contextmanager
def invocation(correlation_id: str | None) -> Iterator[None]:
    """One Lambda invocation: correlated logs, and its metrics flushed once at the end."""
    token = _recording.set(True)
    try:
        with correlated(correlation_id):
            yield
    finally:
        _recording.reset(token)
        flush()


def flush() -> None:
    # Powertools warns about an empty set; an invocation that changed nothing says nothing.
    if metrics.metric_set:
        metrics.flush_metrics()
