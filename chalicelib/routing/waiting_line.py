"""The waiting line: appeals nobody could take yet, handed out oldest first
the moment capacity appears.

Each source's line is the `queued#` segment of the sparse `waiting_by_source`
index, so a drain reads O(waiting) rows, never the appeal history. An appeal
whose required skills no free operator has (chalicelib/routing/skills.py) is
skipped, not a wall: the drain takes the next one it can place, so a drain
reads O(handed out + skipped) rows of the line, and stops when nobody is free. Handing an
appeal out is one transaction conditional on the appeal still being in the
line under the same key, so when an immediate drain and the scheduled run race
for it, exactly one of them commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pynamodb.exceptions import PynamoDBException

from chalicelib.core.errors import DomainError, ServiceBusy
from chalicelib.core.ids import utc_now
from chalicelib.core.observability import APPEALS_ASSIGNED, APPEALS_DRAINED, APPEALS_ESCALATED, count, logger
from chalicelib.db.transactions import Cancelled, Transaction
from chalicelib.models.appeals import Appeal, Reason, Trigger, line_is_empty, line_work_page
from chalicelib.models.sources import Source, sources_by_id
from chalicelib.models.weights import sources_served_by
from chalicelib.routing import transitions
from chalicelib.routing.capacity import Pool, SkillNeed, place, skill_need

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Iterable
    from datetime import datetime

    from chalicelib.db.paging import Key
    from chalicelib.routing.draw import Decision

__all__ = [
    "Drained",
    "drain_after_release",
    "drain_for_operator",
    "drain_source",
    "drain_source_after_change",
    "drain_sources",
    "sources_with_waiting",
]

# One Query page of the line; more pages are read while capacity lasts.
_MAX_PAGE = 100


@dataclass(frozen=True)
class Drained:
    source_id: str
    handed_out: int


Page = tuple[list[Appeal], "Key | None"]


def drain_source(
    source: Source,
    *,
    pool: Pool | None = None,
    first_page: Page | None = None,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> Drained:
    """Hands out the source's waiting appeals, oldest first, while anyone is free
    (`now`: the scheduled run's clock, which decides whose skills fallback is due)."""
    pool = pool or Pool(source.source_id)
    handed_out = 0
    now = now or utc_now()
    page, start = first_page if first_page is not None else (None, None)
    while pool.has_capacity():
        if page is None:
            page, start = line_work_page(source.source_id, min(max(pool.free_capacity(), 1), _MAX_PAGE), start)
        for row in page:
            if not pool.has_capacity():
                break
            exclude = set(row.lapsed_operator_ids or ())
            # Skills: measured from its arrival (created_at), so the source's fallback applies once it is due.
            need = skill_need(source, row.required_tags, since=row.created_at, now=now)
            if exclude and _nobody_left(pool, exclude):
                _escalate_in_line(row)
            elif pool.has_capacity_for(need, exclude):
                try:
                    handed_out += _hand_out(source, row, pool, exclude, rng, need)
                except ServiceBusy:
                    # Contention outlasted the retry budget: another drain holds these items and
                    # is serving the same line, so this one stops; the scheduled run catches up.
                    logger.info("drain stopped by contention", extra={"source_id": source.source_id})
                    return Drained(source.source_id, handed_out)
        if start is None:
            break
        page = None
    return Drained(source.source_id, handed_out)


def _nobody_left(pool: Pool, exclude: set[str]) -> bool:
    """Everyone who serves the source has let this appeal lapse: no drain can ever place it."""
    return all(c.operator_id in exclude for c in pool.candidates if c.weight >= 1)


def _escalate_in_line(row: Appeal) -> None:
    """Moves the appeal to the escalated segment, for a person to assign or close."""
    tx = Transaction()
    transitions.escalate(tx, row, now=utc_now(), reason=Reason.NO_OPERATOR_LEFT)
    try:
        tx.commit()
    except Cancelled as failure:
        # Moved meanwhile (closed, assigned by hand) or busy: the next run looks again.
        logger.info("escalation skipped", extra={"appeal_id": row.appeal_id, "error": failure.error_code or "moved"})
        return
    logger.info(
        "appeal escalated",
        extra={"appeal_id": row.appeal_id, "source_id": row.source_id, "reason": Reason.NO_OPERATOR_LEFT},
    )
    count(APPEALS_ESCALATED)


def _hand_out(
    source: Source, row: Appeal, pool: Pool, exclude: set[str], rng: random.Random | None, need: SkillNeed | None
) -> bool:
    now = utc_now()

    def build(decision: Decision) -> Transaction | None:
        if decision.winner is None:
            return None  # nobody for this one: it keeps its place in the line
        tx = Transaction()
        # Conditional on the row still being in the line under the key the
        # (eventually consistent) index showed: it may already be gone.
        transitions.hand_to_operator(tx, row, source, decision.winner, now=now, decision=decision)
        return tx

    try:
        decision = place(source, build, trigger=Trigger.DRAIN, pool=pool, exclude=exclude, rng=rng, skills=need)
    except Cancelled as failure:
        if failure.failed(transitions.APPEAL):
            return False  # someone else handed it out (or closed it) first
        raise
    if decision.winner is None:
        return False
    logger.info(
        "appeal drained from the waiting line",
        extra={
            "appeal_id": row.appeal_id,
            "source_id": source.source_id,
            "operator_id": decision.winner.operator_id,
            "how": decision.how,
            "trigger": decision.trigger,
            "waited_since": _since(row),
        },
    )
    count(APPEALS_DRAINED)
    count(APPEALS_ASSIGNED)
    return True


def drain_sources(sources: Iterable[Source], rng: random.Random | None = None) -> list[Drained]:
    """Drains several lines, the one whose head waited longest first."""
    heads: list[tuple[str, Source, Pool, Page]] = []
    for source in sources:
        pool = Pool(source.source_id)
        if not pool.has_capacity():
            continue
        page = line_work_page(source.source_id, min(pool.free_capacity(), _MAX_PAGE), None)
        if page[0]:
            heads.append((_since(page[0][0]), source, pool, page))
    heads.sort(key=lambda head: head[0])
    return [drain_source(source, pool=pool, first_page=page, rng=rng) for _, source, pool, page in heads]


def _since(row: Appeal) -> str:
    return (row.waiting_key or "").split("#")[1]


def sources_with_waiting(source_ids: Iterable[str]) -> list[Source]:
    """Those of the sources whose line is not empty: a Limit=1 Query per source on
    the sparse waiting index (no per-source counter, cost flat in history), then
    one batched read of the rows of those with work."""
    return sources_by_id([source_id for source_id in source_ids if not line_is_empty(source_id)])


def drain_for_operator(operator_id: str, rng: random.Random | None = None) -> int:
    """Capacity appeared at this operator: serve the lines of the sources it serves."""
    return sum(d.handed_out for d in drain_sources(sources_with_waiting(sources_served_by(operator_id)), rng=rng))


def drain_after_release(operator_id: str) -> int:
    """The immediate drain after a committed change: best effort, never the
    caller's failure. Whatever it cannot do, the scheduled run does."""
    return _quietly(lambda: drain_for_operator(operator_id), operator_id=operator_id)


def drain_source_after_change(source_id: str) -> int:
    def run() -> int:
        return sum(d.handed_out for d in drain_sources(sources_with_waiting([source_id])))

    return _quietly(run, source_id=source_id)


def _quietly(run: Callable[[], int], **context: str) -> int:
    try:
        return run()
    except (DomainError, Cancelled, PynamoDBException) as exc:
        logger.warning("immediate drain deferred to the scheduled run", extra={**context, "error": type(exc).__name__})
        return 0
