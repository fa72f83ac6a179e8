"""The waiting line: appeals nobody could take yet, handed out oldest first
the moment capacity appears.

Each source's line is the `queued#` segment of the sparse `waiting_by_source`
index, so a drain reads O(waiting) rows, never the appeal history. Handing an
appeal out is one transaction conditional on the appeal still being in the
line under the same key, so when an immediate drain and the scheduled run race
for it, exactly one of them commits.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.exceptions import PynamoDBException, UpdateError

from chalicelib.core.errors import DomainError
from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import APPEALS_ASSIGNED, APPEALS_DRAINED, APPEALS_ESCALATED, count, logger
from chalicelib.db.transactions import Cancelled, Transaction
from chalicelib.models import Appeal, Lead, Source, Weight
from chalicelib.models.appeals import ESCALATED_SEGMENT, QUEUED_SEGMENT, WAITING, waiting_key
from chalicelib.routing.draw import Decision, Pool, place
from chalicelib.routing.transitions import append_events, assigned_actions, event

# One Query page of the line; more pages are read while capacity lasts.
_MAX_PAGE = 100


@dataclass(frozen=True)
class Drained:
    source_id: str
    handed_out: int


Page = tuple[list[Appeal], dict | None]


def drain_source(
    source: Source, *, pool: Pool | None = None, first_page: Page | None = None, rng: random.Random | None = None
) -> Drained:
    """Hands out the source's waiting appeals, oldest first, while anyone is free."""
    pool = pool or Pool(source.source_id)
    handed_out = 0
    page, start = first_page if first_page is not None else (None, None)
    while pool.has_capacity():
        if page is None:
            page, start = _line_page(source.source_id, min(max(pool.free_capacity(), 1), _MAX_PAGE), start)
        for row in page:
            if not pool.has_capacity():
                break
            exclude = set(row.lapsed_operator_ids or ())
            if exclude and _nobody_left(pool, exclude):
                _escalate_in_line(row)
            elif pool.has_capacity(exclude) and _hand_out(source, row, pool, exclude, rng):
                handed_out += 1
        if start is None:
            break
        page = None
    return Drained(source.source_id, handed_out)


def _nobody_left(pool: Pool, exclude: set[str]) -> bool:
    """Everyone who serves the source has let this appeal lapse: no drain can ever place it."""
    return all(c.operator_id in exclude for c in pool.candidates if c.weight >= 1)


def _escalate_in_line(row: Appeal) -> None:
    """Moves the appeal to the escalated segment, for a person to assign or close."""
    at = iso(utc_now())
    try:
        row.update(
            actions=[
                Appeal.waiting_key.set(waiting_key(ESCALATED_SEGMENT, at, row.appeal_id)),
                Appeal.escalated.set(True),
                append_events(event("escalated", at, reason="no_operator_left")),
            ],
            condition=(Appeal.status == WAITING) & (Appeal.waiting_key == row.waiting_key),
        )
    except UpdateError as exc:
        # Moved meanwhile (closed, assigned by hand) or busy: the next run looks again.
        logger.info("escalation skipped", extra={"appeal_id": row.appeal_id, "error": exc.cause_response_code})
        return
    logger.info(
        "appeal escalated",
        extra={"appeal_id": row.appeal_id, "source_id": row.source_id, "reason": "no_operator_left"},
    )
    count(APPEALS_ESCALATED)


def _line_page(source_id: str, limit: int, start: dict | None) -> Page:
    results = Appeal.waiting_by_source.query(
        source_id,
        range_key_condition=Appeal.waiting_key.startswith(f"{QUEUED_SEGMENT}#"),
        limit=limit,
        page_size=limit,
        last_evaluated_key=start,
    )
    rows = list(results)
    return rows, results.last_evaluated_key


def _hand_out(source: Source, row: Appeal, pool: Pool, exclude: set[str], rng: random.Random | None) -> bool:
    now = utc_now()

    def build(decision: Decision) -> Transaction | None:
        if decision.winner is None:
            return None  # nobody for this one: it keeps its place in the line
        at = iso(now)
        tx = Transaction()
        tx.update(
            "appeal",
            Appeal(row.appeal_id),
            [
                *assigned_actions(row, source, decision.winner, now),
                append_events(event("assigned", at, decision=decision, operator_id=decision.winner.operator_id)),
            ],
            # The index is eventually consistent: the row may already be gone.
            condition=(Appeal.status == WAITING) & (Appeal.waiting_key == row.waiting_key),
        )
        tx.update("source", Source(source.source_id), [Source.waiting_count.add(-1)])
        tx.update(
            "lead",
            Lead(row.lead_id),
            [Lead.last_operator_id.set(decision.winner.operator_id)],
            condition=Lead.lead_id.exists(),
        )
        return tx

    try:
        decision = place(source, build, trigger="drain", pool=pool, exclude=exclude, rng=rng)
    except Cancelled as failure:
        if failure.failed("appeal"):
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
        page = _line_page(source.source_id, min(pool.free_capacity(), _MAX_PAGE), None)
        if page[0]:
            heads.append((_since(page[0][0]), source, pool, page))
    heads.sort(key=lambda head: head[0])
    return [drain_source(source, pool=pool, first_page=page, rng=rng) for _, source, pool, page in heads]


def _since(row: Appeal) -> str:
    return (row.waiting_key or "").split("#")[1]


def sources_with_waiting(source_ids: list[str]) -> list[Source]:
    if not source_ids:
        return []
    return [s for s in Source.batch_get(source_ids, consistent_read=True) if int(s.waiting_count or 0) > 0]


def drain_for_operator(operator_id: str, rng: random.Random | None = None) -> int:
    """Capacity appeared at this operator: serve the lines of the sources it serves."""
    served = [row.source_id for row in Weight.by_operator.query(operator_id)]
    return sum(d.handed_out for d in drain_sources(sources_with_waiting(served), rng=rng))


def drain_after_release(operator_id: str) -> int:
    """The immediate drain after a committed change: best effort, never the
    caller's failure. Whatever it cannot do, the scheduled run does."""
    return _quietly(lambda: drain_for_operator(operator_id), operator_id=operator_id)


def drain_source_after_change(source_id: str) -> int:
    def run() -> int:
        return sum(d.handed_out for d in drain_sources(sources_with_waiting([source_id])))

    return _quietly(run, source_id=source_id)


def _quietly(run, **context: str) -> int:
    try:
        return run()
    except (DomainError, Cancelled, PynamoDBException) as exc:
        logger.warning("immediate drain deferred to the scheduled run", extra={**context, "error": type(exc).__name__})
        return 0
