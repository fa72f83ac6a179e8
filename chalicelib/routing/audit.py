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
from typing import TYPE_CHECKING

from chalicelib.core.observability import logger
from chalicelib.models.appeals import count_active
from chalicelib.models.operators import all_operator_ids, operators_by_id
from chalicelib.routing.capacity import repair_load
from chalicelib.schemas.jobs import AuditReport, CounterDrift

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SETTLE_SECONDS", "audit_counters"]

# Long enough for the index to catch up with a transaction that just committed.
SETTLE_SECONDS = 1.0


def audit_counters(*, settle: Callable[[], None] | None = None, repair: bool = True) -> AuditReport:
    settle = settle or (lambda: time.sleep(SETTLE_SECONDS))
    operator_ids = all_operator_ids()
    suspects: dict[str, tuple[int, int]] = {}
    for operator in operators_by_id(operator_ids, consistent=True).values():
        actual = count_active(operator.operator_id)
        if actual != int(operator.active_load):
            suspects[operator.operator_id] = (int(operator.active_load), actual)
    drifts = []
    if suspects:
        settle()
        for operator in operators_by_id(list(suspects), consistent=True).values():
            recorded, actual = int(operator.active_load), count_active(operator.operator_id)
            if recorded == actual or (recorded, actual) != suspects[operator.operator_id]:
                continue  # it moved or caught up: not drift, just a moment in flight
            repaired = repair and repair_load(operator.operator_id, recorded, actual)
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
