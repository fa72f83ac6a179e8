"""Taking appeals back: lapsed response SLAs and deactivated operators.

A reclaimed appeal goes to another eligible operator in one transaction that
releases the old operator's slot and claims the new one's; with nobody
eligible it goes back to the waiting line. Operators who let an appeal lapse
are never offered it again, and the lapse after `MAX_LAPSES` hands it to a
person instead (status stays waiting, flagged `escalated`, out of the drains).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime
from typing import Literal

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
from chalicelib.db.tables import LISTED
from chalicelib.db.transactions import Cancelled, Transaction, commit_with_retry
from chalicelib.models import Appeal, Lead, Source
from chalicelib.models.appeals import ACTIVE, ESCALATED_SEGMENT, QUEUED_SEGMENT
from chalicelib.routing import waiting_line
from chalicelib.routing.draw import Decision, Pool, add_release, place
from chalicelib.routing.transitions import append_events, assigned_actions, event, queued_actions
from chalicelib.schemas.jobs import ReassignReport

MAX_LAPSES = 3
SLA_LAPSED = "sla_lapsed"
OPERATOR_DEACTIVATED = "operator_deactivated"

Outcome = Literal["reassigned", "returned_to_line", "escalated", "skipped"]


def reclaim(
    row: Appeal,
    source: Source,
    pool: Pool,
    *,
    reason: str,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Outcome:
    """Takes an active, unaccepted appeal from its operator and places it again."""
    old = row.operator_id
    if old is None:
        return "skipped"
    now = now or utc_now()
    lapsed_before = set(row.lapsed_operator_ids or ())
    lapse = reason == SLA_LAPSED
    # Still with the same operator, still not accepted, and (for a lapse)
    # still the same deadline: otherwise someone acted first and we skip.
    still_theirs = (Appeal.status == ACTIVE) & (Appeal.operator_id == old) & Appeal.accepted_at.does_not_exist()
    if lapse:
        still_theirs &= Appeal.sla_due_at == row.sla_due_at
    taken_back = [Appeal.reassign_count.add(1)]
    if lapse:
        taken_back.append(Appeal.lapsed_operator_ids.add({old}))
    try:
        if lapse and len(lapsed_before) >= MAX_LAPSES:
            _escalate(row, old, still_theirs, taken_back, now)
            outcome: Outcome = "escalated"
        else:
            outcome = _place_elsewhere(row, source, pool, old, still_theirs, taken_back, reason, now, rng)
    except Cancelled as failure:
        if failure.failed("appeal"):
            return "skipped"
        if failure.failed("released_operator") or failure.failed("released_weight"):
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
    still_theirs,
    taken_back: list,
    reason: str,
    now: datetime,
    rng: random.Random | None,
) -> Outcome:
    at = iso(now)
    exclude = set(row.lapsed_operator_ids or ()) | {old}

    def build(decision: Decision) -> Transaction:
        tx = Transaction()
        winner = decision.winner
        if winner is not None:
            actions = [
                *assigned_actions(row, source, winner, now),
                *taken_back,
                append_events(
                    event(
                        "reassigned",
                        at,
                        decision=decision,
                        operator_id=winner.operator_id,
                        previous_operator_id=old,
                        reason=reason,
                    )
                ),
            ]
        else:
            actions = [
                *queued_actions(row, QUEUED_SEGMENT, now),
                *taken_back,
                append_events(
                    event("returned_to_line", at, decision=decision, previous_operator_id=old, reason=reason)
                ),
            ]
        tx.update("appeal", Appeal(row.appeal_id), actions, condition=still_theirs)
        add_release(tx, row.source_id, old, label="released_")
        if winner is not None:
            tx.update(
                "lead",
                Lead(row.lead_id),
                [Lead.last_operator_id.set(winner.operator_id)],
                condition=Lead.lead_id.exists(),
            )
        else:
            tx.update("source", Source(row.source_id), [Source.waiting_count.add(1)])
        return tx

    trigger = "sla_lapse" if reason == SLA_LAPSED else "redistribute"
    decision = place(source, build, trigger=trigger, pool=pool, exclude=exclude, rng=rng)
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


def _escalate(row: Appeal, old: str, still_theirs, taken_back: list, now: datetime) -> None:
    at = iso(now)
    tx = Transaction()
    tx.update(
        "appeal",
        Appeal(row.appeal_id),
        [
            *queued_actions(row, ESCALATED_SEGMENT, now),
            *taken_back,
            Appeal.escalated.set(True),
            append_events(event("escalated", at, previous_operator_id=old, reason=SLA_LAPSED)),
        ],
        condition=still_theirs,
    )
    add_release(tx, row.source_id, old, label="released_")
    tx.update("source", Source(row.source_id), [Source.waiting_count.add(1)])
    commit_with_retry(tx)
    logger.info(
        "appeal escalated",
        extra={
            "appeal_id": row.appeal_id,
            "source_id": row.source_id,
            "from_operator_id": old,
            "reason": SLA_LAPSED,
            "lapses": len(row.lapsed_operator_ids or ()) + 1,
        },
    )
    count(APPEALS_ESCALATED)


def lapsed_appeals(source_id: str, now: datetime) -> Iterator[Appeal]:
    """Active, unaccepted appeals of the source past their deadline: O(lapsed)."""
    return Appeal.awaiting_accept.query(source_id, range_key_condition=Appeal.sla_due_at < iso(now))


def redistribute(operator_id: str, rng: random.Random | None = None) -> dict[str, int]:
    """Puts a (just deactivated) operator's unaccepted active appeals back through distribution."""
    outcomes: dict[str, int] = {}
    sources: dict[str, tuple[Source, Pool]] = {}
    rows = Appeal.by_operator.query(
        operator_id,
        range_key_condition=Appeal.operator_status_key.startswith(f"{ACTIVE}#"),
        filter_condition=Appeal.accepted_at.does_not_exist(),
    )
    for row in rows:
        if row.source_id not in sources:
            source = Source.get(row.source_id, consistent_read=True)
            sources[row.source_id] = (source, Pool(source.source_id))
        source, pool = sources[row.source_id]
        outcome = reclaim(row, source, pool, reason=OPERATOR_DEACTIVATED, rng=rng)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def all_sources() -> list[Source]:
    """Every source: a Query of the listing index, then batched reads (never a Scan)."""
    keys = [row.source_id for row in Source.newest_first.query(LISTED)]
    return list(Source.batch_get(keys, consistent_read=True)) if keys else []


def run_reassignment(now: datetime | None = None, rng: random.Random | None = None) -> ReassignReport:
    """The scheduled run: reclaim lapsed appeals, then serve every waiting line."""
    now = now or utc_now()
    counts = {"lapsed": 0, "reassigned": 0, "returned_to_line": 0, "escalated": 0, "drained": 0, "still_waiting": 0}
    sources = all_sources()
    for source in sources:
        pool = Pool(source.source_id)
        waiting = int(source.waiting_count or 0)
        if source.response_sla_seconds is not None:
            for row in lapsed_appeals(source.source_id, now):
                counts["lapsed"] += 1
                outcome = reclaim(row, source, pool, reason=SLA_LAPSED, now=now, rng=rng)
                if outcome != "skipped":
                    counts[outcome] += 1
                if outcome in ("returned_to_line", "escalated"):
                    waiting += 1
        if waiting > 0:
            drained = waiting_line.drain_source(source, pool=pool, rng=rng).handed_out
            counts["drained"] += drained
            waiting -= drained
        counts["still_waiting"] += waiting
    report = ReassignReport(sources_checked=len(sources), **counts)
    logger.info("reassignment run", extra=report.model_dump())
    return report
