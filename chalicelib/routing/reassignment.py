"""Taking appeals back: lapsed response SLAs and deactivated operators.

A reclaimed appeal goes to another eligible operator in one transaction that
releases the old operator's slot and claims the new one's; with nobody
eligible it goes back to the waiting line. Operators who let an appeal lapse
are never offered it again, and the lapse after `MAX_LAPSES` hands it to a
person instead (status stays waiting, flagged `escalated`, out of the drains).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import (
    APPEALS_ASSIGNED,
    APPEALS_ESCALATED,
    APPEALS_REASSIGNED,
    APPEALS_WAITING,
    SLA_LAPSES,
    count,
    logger,
)
from chalicelib.db.transactions import Cancelled, Transaction, commit_with_retry
from chalicelib.models.appeals import (
    Appeal,
    Reason,
    Trigger,
    active_of,
    lapsed_appeals,
    line_is_empty,
    line_size,
    unaccepted_active,
)
from chalicelib.models.sources import Source, all_sources, get_source_row
from chalicelib.routing import transitions, waiting_line
from chalicelib.routing.capacity import CLAIM_LABELS, Pool, place, skill_need
from chalicelib.schemas.jobs import ReassignReport

if TYPE_CHECKING:
    import random
    from datetime import datetime

    from chalicelib.routing.draw import Decision

__all__ = ["MAX_LAPSES", "reclaim", "redistribute", "run_reassignment"]

MAX_LAPSES = 3
SLA_LAPSED = Reason.SLA_LAPSED
OPERATOR_DEACTIVATED = Reason.OPERATOR_DEACTIVATED

Outcome = Literal["reassigned", "returned_to_line", "escalated", "skipped"]


def reclaim(
    row: Appeal,
    source: Source,
    pool: Pool,
    *,
    reason: Reason,
    now: datetime | None = None,
    rng: random.Random | None = None,
    accepted_too: bool = False,
) -> Outcome:
    """Takes an active, unaccepted appeal from its operator and places it again:
    with another operator, back in the line, or (the lapse after `MAX_LAPSES`)
    with a person. Skipped when someone acted on it first. `accepted_too`: an
    accepted one too (a shift end, on a source that returns accepted appeals)."""
    old = row.operator_id
    if old is None:
        return "skipped"
    now = now or utc_now()
    lapse = reason == Reason.SLA_LAPSED
    try:
        if lapse and len(row.lapsed_operator_ids or ()) >= MAX_LAPSES:
            outcome = _escalate(row, old, now)
        else:
            outcome = _place_elsewhere(row, source, pool, old, reason, now, rng, accepted_too=accepted_too)
    except Cancelled as failure:
        if failure.failed(transitions.APPEAL):
            return "skipped"
        if any(failure.failed(transitions.RELEASED + label) for label in CLAIM_LABELS):
            # The counter already says zero: drift the audit reports and repairs.
            logger.error("load counter already zero on reclaim", extra={"appeal_id": row.appeal_id, "operator_id": old})
            return "skipped"
        raise
    pool.released(old)
    if lapse:
        count(SLA_LAPSES)
    return outcome


def _place_elsewhere(
    row: Appeal,
    source: Source,
    pool: Pool,
    old: str,
    reason: Reason,
    now: datetime,
    rng: random.Random | None,
    *,
    accepted_too: bool = False,
) -> Outcome:
    def build(decision: Decision) -> Transaction:
        tx = Transaction()
        if decision.winner is not None:
            transitions.hand_to_operator(
                tx, row, source, decision.winner, now=now, decision=decision, reason=reason, accepted_too=accepted_too
            )
        else:
            transitions.return_to_line(tx, row, now=now, decision=decision, reason=reason, accepted_too=accepted_too)
        return tx

    trigger = Trigger.SLA_LAPSE if reason == Reason.SLA_LAPSED else Trigger.REDISTRIBUTE
    exclude = set(row.lapsed_operator_ids or ()) | {old}
    # The appeal's skills still hold (its own and its source's), with the fallback counted from its arrival.
    skills = skill_need(source, row.required_tags, since=row.created_at, now=now)
    decision = place(source, build, trigger=trigger, pool=pool, exclude=exclude, rng=rng, skills=skills)
    moved = {"appeal_id": row.appeal_id, "source_id": row.source_id, "from_operator_id": old, "reason": reason}
    if decision.winner is None:
        logger.info("appeal returned to the waiting line", extra={**moved, "why": "nobody_free"})
        count(APPEALS_WAITING)
        return "returned_to_line"
    logger.info(
        "appeal reassigned",
        extra={
            **moved,
            "operator_id": decision.winner.operator_id,
            "how": decision.how,
            "reassign_count": int(row.reassign_count or 0) + 1,
        },
    )
    count(APPEALS_REASSIGNED)
    count(APPEALS_ASSIGNED)
    return "reassigned"


def _escalate(row: Appeal, old: str, now: datetime) -> Outcome:
    tx = Transaction()
    transitions.escalate(tx, row, now=now, reason=Reason.SLA_LAPSED)
    commit_with_retry(tx)
    logger.info(
        "appeal escalated",
        extra={
            "appeal_id": row.appeal_id,
            "source_id": row.source_id,
            "from_operator_id": old,
            "reason": Reason.SLA_LAPSED,
            "lapses": len(row.lapsed_operator_ids or ()) + 1,
        },
    )
    count(APPEALS_ESCALATED)
    return "escalated"


def redistribute(
    operator_id: str, rng: random.Random | None = None, *, reason: Reason = Reason.OPERATOR_DEACTIVATED
) -> dict[str, int]:
    """Puts a (just deactivated, paused or off-shift) operator's unaccepted active appeals back
    through distribution; an accept that commits first keeps its appeal (the reclaim skips it).
    At a shift end, the accepted ones of sources with `return_accepted_at_shift_end` go too."""
    outcomes: dict[str, int] = {}
    sources: dict[str, tuple[Source, Pool]] = {}
    shift_end = reason == Reason.SHIFT_ENDED
    for row in active_of(operator_id) if shift_end else unaccepted_active(operator_id):
        if row.source_id not in sources:
            sources[row.source_id] = (get_source_row(row.source_id), Pool(row.source_id))
        source, pool = sources[row.source_id]
        accepted_too = shift_end and bool(source.return_accepted_at_shift_end)
        if row.accepted_at is not None and not accepted_too:
            continue  # accepted: it stays with its operator
        outcome = reclaim(row, source, pool, reason=reason, rng=rng, accepted_too=accepted_too)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def run_reassignment(now: datetime | None = None, rng: random.Random | None = None) -> ReassignReport:
    """The scheduled run: reclaim lapsed appeals, then serve every waiting line."""
    now = now or utc_now()
    counts = {"lapsed": 0, "reassigned": 0, "returned_to_line": 0, "escalated": 0, "drained": 0, "still_waiting": 0}
    sources = all_sources()
    for source in sources:
        pool = Pool(source.source_id)
        joined = _reclaim_lapsed(source, pool, now, rng, counts)
        # Work is found on the sparse waiting index (Limit=1), not through a per-source counter.
        if joined == 0 and line_is_empty(source.source_id):
            continue
        counts["drained"] += waiting_line.drain_source(source, pool=pool, rng=rng, now=now).handed_out
        counts["still_waiting"] += line_size(source.source_id)
    report = ReassignReport(sources_checked=len(sources), **counts)
    logger.info("reassignment run", extra=report.model_dump())
    return report


def _reclaim_lapsed(
    source: Source, pool: Pool, now: datetime, rng: random.Random | None, counts: dict[str, int]
) -> int:
    """Reclaims the source's appeals past their response SLA; returns how many joined its line."""
    joined = 0
    if source.response_sla_seconds is None:
        return joined
    for row in lapsed_appeals(source.source_id, iso(now)):
        counts["lapsed"] += 1
        outcome = reclaim(row, source, pool, reason=Reason.SLA_LAPSED, now=now, rng=rng)
        if outcome != "skipped":
            counts[outcome] += 1
        if outcome in ("returned_to_line", "escalated"):
            joined += 1
    return joined
