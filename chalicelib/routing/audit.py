"""Counter audit: does every operator's `active_load` equal its active appeals?

The transactions keep the two equal, so the expected drift is zero; this
exists to prove it, and to repair (conditionally) if it ever is not.

The count comes from the `by_operator` index, which trails the table by a
moment. A mismatch is therefore only believed when it holds still: the
operator row and the count are read again after a pause and must say the
same. The repair is conditional on `active_load` still holding the value we
saw, so an appeal assigned or closed meanwhile makes it step aside instead
of writing a stale number.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pynamodb.exceptions import UpdateError

from chalicelib.core.observability import logger
from chalicelib.db.tables import LISTED
from chalicelib.models import Appeal, Operator
from chalicelib.models.appeals import ACTIVE
from chalicelib.schemas.jobs import AuditReport, CounterDrift

# Long enough for the index to catch up with a transaction that just committed.
SETTLE_SECONDS = 1.0


def active_appeals(operator_id: str) -> int:
    """O(active appeals of this operator): a COUNT query on the index, never a Scan."""
    return Appeal.by_operator.count(
        operator_id, range_key_condition=Appeal.operator_status_key.startswith(f"{ACTIVE}#")
    )


def audit_counters(*, settle: Callable[[], None] | None = None, repair: bool = True) -> AuditReport:
    settle = settle or (lambda: time.sleep(SETTLE_SECONDS))
    operator_ids = [row.operator_id for row in Operator.newest_first.query(LISTED)]
    suspects: dict[str, tuple[int, int]] = {}
    for operator in Operator.batch_get(operator_ids, consistent_read=True) if operator_ids else []:
        actual = active_appeals(operator.operator_id)
        if actual != int(operator.active_load):
            suspects[operator.operator_id] = (int(operator.active_load), actual)
    drifts = []
    if suspects:
        settle()
        for operator in Operator.batch_get(list(suspects), consistent_read=True):
            recorded, actual = int(operator.active_load), active_appeals(operator.operator_id)
            if recorded == actual or (recorded, actual) != suspects[operator.operator_id]:
                continue  # it moved or caught up: not drift, just a moment in flight
            repaired = repair and _repair(operator.operator_id, recorded, actual)
            drifts.append(
                CounterDrift(operator_id=operator.operator_id, recorded=recorded, actual=actual, repaired=repaired)
            )
    report = AuditReport(
        operators_checked=len(operator_ids),
        drift_total=sum(abs(d.recorded - d.actual) for d in drifts),
        drifts=drifts,
    )
    for drift in drifts:
        logger.warning("load counter drift", extra=drift.model_dump())
    logger.info(
        "counter audit", extra={"operators_checked": report.operators_checked, "drift_total": report.drift_total}
    )
    return report


def _repair(operator_id: str, recorded: int, actual: int) -> bool:
    try:
        Operator(operator_id).update(
            actions=[Operator.active_load.set(actual)], condition=Operator.active_load == recorded
        )
    except UpdateError as exc:
        # Changed since we looked (or in a transaction right now): the next run decides.
        logger.info("drift repair skipped", extra={"operator_id": operator_id, "error": exc.cause_response_code})
        return False
    return True
