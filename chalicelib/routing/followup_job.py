"""The follow-up job: accepted appeals gone quiet, read from the sparse
follow-up index (O(due), never a Scan), each reminded once (its history gains
`followup_reminder`, which the appeals stream announces as
`appeal.followup_reminder` and the operator bot sends on), then, after a
second quiet period, escalated or put back through distribution as its
source chose. Every write is conditional on the due instant the job read:
activity that came first (a note, a reply) moved it, and the job skips."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import APPEALS_ESCALATED, count, logger
from chalicelib.db.retry import tries
from chalicelib.db.transactions import Cancelled, Transaction
from chalicelib.models.appeals import ACTIVE, Appeal, Reason, followup_due, get_appeal_row
from chalicelib.models.sources import get_source_row
from chalicelib.routing import transitions
from chalicelib.routing.capacity import CLAIM_LABELS, Pool
from chalicelib.routing.followup import FollowupAction, FollowupPolicy, Step, decide_followup
from chalicelib.routing.reassignment import reclaim
from chalicelib.schemas.jobs import FollowupReport

if TYPE_CHECKING:
    import random

    from chalicelib.db.retry import RetryPolicy
    from chalicelib.models.sources import Source

__all__ = ["follow_up", "record_lead_activity", "run_followup"]

Outcome = Literal["reminded", "escalated", "reassigned", "returned_to_line", "skipped"]


def run_followup(now: datetime | None = None, rng: random.Random | None = None) -> FollowupReport:
    """The scheduled run: every due follow-up, earliest first."""
    now = now or utc_now()
    counts = dict.fromkeys(("due", "reminded", "escalated", "reassigned", "returned_to_line", "skipped"), 0)
    places: dict[str, tuple[Source, Pool]] = {}
    for row in followup_due(iso(now)):
        counts["due"] += 1
        counts[follow_up(row, now, places=places, rng=rng)] += 1
    report = FollowupReport(**counts)
    logger.info("follow-up run", extra=report.model_dump())
    return report


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def follow_up(
    row: Appeal,
    now: datetime,
    *,
    places: dict[str, tuple[Source, Pool]] | None = None,
    rng: random.Random | None = None,
) -> Outcome:
    """One due appeal, as read from the index: remind, act, or skip when it changed meanwhile."""
    last = _moment(row.last_activity_at or row.accepted_at)
    if row.followup_seconds is None or last is None:
        return "skipped"  # not a follow-up row (cannot be in the index without these)
    policy = FollowupPolicy(
        followup_seconds=int(row.followup_seconds),
        action=FollowupAction(row.followup_action or FollowupAction.ESCALATE),
    )
    decision = decide_followup(policy, last_activity_at=last, reminded_at=_moment(row.followup_reminded_at), now=now)
    where = {"appeal_id": row.appeal_id, "source_id": row.source_id, "operator_id": row.operator_id}
    try:
        if decision.step is Step.REMIND:
            tx = Transaction()
            transitions.remind_followup(tx, row, now=now)
            tx.commit()
            logger.info("follow-up reminder", extra={**where, "reason": decision.reason})
            return "reminded"
        if decision.step is Step.NONE:
            return "skipped"
        if decision.action is FollowupAction.ESCALATE:
            tx = Transaction()
            transitions.escalate(tx, row, now=now, reason=Reason.NO_FOLLOWUP)
            tx.commit()
            logger.info("appeal escalated", extra={**where, "reason": Reason.NO_FOLLOWUP, "why": decision.reason})
            count(APPEALS_ESCALATED)
            return "escalated"
    except Cancelled as failure:
        if failure.failed(transitions.APPEAL) or failure.contended:
            return "skipped"  # activity came first (or the rows are busy: still due, the next run looks again)
        if any(failure.failed(transitions.RELEASED + label) for label in CLAIM_LABELS):
            logger.error("load counter already zero on follow-up", extra=where)
            return "skipped"
        raise
    places = {} if places is None else places
    if row.source_id not in places:
        places[row.source_id] = (get_source_row(row.source_id), Pool(row.source_id))
    source, pool = places[row.source_id]
    outcome = reclaim(row, source, pool, reason=Reason.NO_FOLLOWUP, now=now, rng=rng)
    return "skipped" if outcome == "escalated" else outcome


def record_lead_activity(lead_id: str, at: datetime, *, policy: RetryPolicy | None = None) -> int:
    """A stage move of the lead (seen on the leads stream) is activity on each of its
    accepted appeals with follow-up: their clocks restart from the move. Reads the
    lead's appeals from its index (O(its appeals)); an appeal whose clock already
    started later (a redelivered move, a newer note) is left alone. Returns how many moved."""
    moved = 0
    for listed in Appeal.by_lead.query(lead_id, filter_condition=Appeal.status == ACTIVE):
        if listed.accepted_at is None:
            continue
        for _ in tries(policy):
            row = get_appeal_row(listed.appeal_id)
            if not transitions.following_up(row) or (row.last_activity_at or "") >= iso(at):
                break
            tx = Transaction()
            transitions.record_activity(tx, row, now=at)
            try:
                tx.commit()
            except Cancelled as failure:
                if failure.failed(transitions.APPEAL) or failure.contended:
                    continue  # the job or another activity came first: look again
                raise
            moved += 1
            break
    if moved:
        logger.info("follow-up restarted by a stage move", extra={"lead_id": lead_id, "appeals": moved})
    return moved
