"""Who gets an appeal: a weighted random draw, then an atomic claim.

The draw (`draw`) is pure. The claim adds the operator and weight rows to the
caller's transaction with conditions, so an appeal changes state and the
operator's `active_load` moves in the same TransactWriteItems:

    claim:   is_active AND active_load < max_load   (operator)
             weight >= 1                             (operator still serves the source)

A lost race (condition failed) drops that candidate and re-draws among the
rest; contention (TransactionConflict, throttling) backs off and re-reads.
Every placement returns a `Decision`: the record of why, which the caller
stores on the appeal in that same transaction.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.core.errors import ServiceBusy
from chalicelib.db.transactions import Backoff, Cancelled, Transaction
from chalicelib.models import Operator, Source, Weight
from chalicelib.schemas.sources import Strategy

_default_rng = random.Random()


@dataclass(frozen=True)
class Candidate:
    operator_id: str
    name: str
    weight: int
    is_active: bool
    active_load: int
    max_load: int

    @property
    def free_capacity(self) -> int:
        return max(self.max_load - self.active_load, 0)

    @property
    def is_available(self) -> bool:
        return self.is_active and self.weight >= 1 and self.active_load < self.max_load


def draw_weight(candidate: Candidate, strategy: Strategy) -> int:
    if not candidate.is_available:
        return 0
    if strategy is Strategy.WEIGHTED_CAPACITY:
        return candidate.weight * candidate.free_capacity
    return candidate.weight


@dataclass(frozen=True)
class Draw:
    winner: Candidate | None
    point: float | None  # where the draw landed in [0, total)
    total: int


def draw(candidates: Sequence[Candidate], strategy: Strategy, rng: random.Random) -> Draw:
    """One operator, with probability proportional to its draw weight; no winner if nobody is free.

    Cumulative weights walked explicitly (not `rng.choices`) so the decision
    record can say where the draw landed.
    """
    weights = [draw_weight(candidate, strategy) for candidate in candidates]
    total = sum(weights)
    if not total:
        return Draw(None, None, 0)
    point = rng.random() * total
    reached = 0
    for candidate, weight in zip(candidates, weights, strict=True):
        reached += weight
        if weight and point < reached:
            return Draw(candidate, point, total)
    # Float rounding at the very top end: the last one that can win.
    return Draw(next(c for c, w in zip(reversed(candidates), reversed(weights), strict=True) if w), point, total)


def choose_operator(candidates: Sequence[Candidate], strategy: Strategy, rng: random.Random) -> Candidate | None:
    return draw(candidates, strategy, rng).winner


def serving_weights(source_id: str) -> list[Weight]:
    """The source's current weight set (rows with weight 0 are history only)."""
    return list(Weight.query(source_id, filter_condition=Weight.weight >= 1, consistent_read=True))


def load_candidates(source_id: str) -> list[Candidate]:
    weights = serving_weights(source_id)
    if not weights:
        return []
    operators = {
        operator.operator_id: operator
        for operator in Operator.batch_get([row.operator_id for row in weights], consistent_read=True)
    }
    return [
        Candidate(
            operator_id=row.operator_id,
            name=operators[row.operator_id].name,
            weight=int(row.weight),
            is_active=operators[row.operator_id].is_active,
            active_load=int(operators[row.operator_id].active_load),
            max_load=int(operators[row.operator_id].max_load),
        )
        for row in weights
        if row.operator_id in operators
    ]


class Pool:
    """A source's candidates, read once and kept current by the caller's own
    claims, so draining a line costs two reads, not two per appeal."""

    def __init__(self, source_id: str) -> None:
        self.source_id = source_id
        self._candidates: list[Candidate] | None = None

    @property
    def candidates(self) -> list[Candidate]:
        if self._candidates is None:
            self._candidates = load_candidates(self.source_id)
        return self._candidates

    def refresh(self) -> None:
        self._candidates = None

    def claimed(self, operator_id: str) -> None:
        self._shift(operator_id, +1)

    def released(self, operator_id: str) -> None:
        self._shift(operator_id, -1)

    def has_capacity(self, exclude: Collection[str] = ()) -> bool:
        return any(c.is_available and c.operator_id not in exclude for c in self.candidates)

    def free_capacity(self) -> int:
        return sum(c.free_capacity for c in self.candidates if c.is_available)

    def _shift(self, operator_id: str, delta: int) -> None:
        if self._candidates is not None:
            self._candidates = [
                replace(c, active_load=max(c.active_load + delta, 0)) if c.operator_id == operator_id else c
                for c in self._candidates
            ]


@dataclass(frozen=True)
class Decision:
    """Why an appeal went where it went (or why it waits)."""

    trigger: str  # intake | drain | sla_lapse | redistribute
    strategy: Strategy
    candidates: tuple[Candidate, ...]
    winner: Candidate | None
    excluded: tuple[str, ...] = ()
    sticky: bool = False
    point: float | None = None
    total: int = 0
    lost_races: tuple[str, ...] = ()

    @property
    def how(self) -> str:
        """For the logs: how the winner was picked."""
        return "sticky" if self.sticky else "weighted_draw"

    def record(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "strategy": self.strategy.value,
            "sticky": self.sticky,
            "candidates": [
                {
                    "operator_id": c.operator_id,
                    "weight": c.weight,
                    "active_load": c.active_load,
                    "max_load": c.max_load,
                    "is_active": c.is_active,
                    "eligible": c.is_available and c.operator_id not in self.excluded,
                    "draw_weight": 0 if c.operator_id in self.excluded else draw_weight(c, self.strategy),
                }
                for c in self.candidates
            ],
            "excluded": list(self.excluded),
            "lost_races": list(self.lost_races),
            "draw": None if self.point is None else round(self.point, 6),
            "draw_total": self.total,
            "winner": self.winner.operator_id if self.winner else None,
        }


def add_claim(tx: Transaction, source_id: str, operator_id: str, *, serving: bool = True) -> None:
    """Takes one slot. `serving=False` (a person's choice) drops the "still serves
    this source" condition; the pair's counters still move, so releasing finds them."""
    tx.update(
        "operator",
        Operator(operator_id),
        [Operator.active_load.add(1)],
        condition=(Operator.is_active == True) & (Operator.active_load < Operator.max_load),  # noqa: E712
    )
    tx.update(
        "weight",
        Weight(source_id, operator_id),
        [Weight.assigned_total.add(1), Weight.active_count.add(1)],
        condition=Weight.weight >= 1 if serving else None,
    )


def add_release(tx: Transaction, source_id: str, operator_id: str, *, label: str = "") -> None:
    """Frees one slot. `label` prefixes the item labels when a claim shares the transaction."""
    # A negative counter would mean the invariant already broke: refuse.
    tx.update(
        f"{label}operator", Operator(operator_id), [Operator.active_load.add(-1)], condition=Operator.active_load > 0
    )
    tx.update(
        f"{label}weight",
        Weight(source_id, operator_id),
        [Weight.active_count.add(-1)],
        condition=Weight.active_count > 0,
    )


def place(
    source: Source,
    build: Callable[[Decision], Transaction | None],
    *,
    trigger: str,
    pool: Pool | None = None,
    exclude: Collection[str] = (),
    prefer: str | None = None,
    rng: random.Random | None = None,
    backoff: Backoff | None = None,
) -> Decision:
    """Commits `build(decision)` plus a claim on the winner.

    With no winner (nobody free) `build` may return None to commit nothing
    (a drain leaves the appeal where it is). `prefer` is tried first when it
    is eligible (sticky routing); `exclude` are never chosen. Cancellations
    that are not about the claim (e.g. the caller's own conditions) propagate
    as `Cancelled` for the caller to interpret.
    """
    rng = rng or _default_rng
    backoff = backoff or Backoff()
    pool = pool or Pool(source.source_id)
    strategy = Strategy(source.strategy)
    excluded = tuple(sorted(set(exclude)))
    lost: list[str] = []
    contended = 0
    candidates = tuple(pool.candidates)
    # Each lost race removes a candidate, so that loop ends by itself; only
    # contention retries are bounded by the backoff budget.
    while True:
        open_to_draw = [c for c in candidates if c.operator_id not in excluded and c.operator_id not in lost]
        sticky = next((c for c in open_to_draw if c.operator_id == prefer and c.is_available), None)
        if sticky is not None:
            decision = Decision(trigger, strategy, candidates, sticky, excluded, sticky=True, lost_races=tuple(lost))
        else:
            outcome = draw(open_to_draw, strategy, rng)
            decision = Decision(
                trigger,
                strategy,
                candidates,
                outcome.winner,
                excluded,
                False,
                outcome.point,
                outcome.total,
                tuple(lost),
            )
        tx = build(decision)
        if tx is None:
            return _settled(pool, decision)
        if decision.winner is not None:
            add_claim(tx, source.source_id, decision.winner.operator_id)
        try:
            tx.commit()
        except Cancelled as failure:
            if decision.winner is not None and (failure.failed("operator") or failure.failed("weight")):
                lost.append(decision.winner.operator_id)
                continue
            if not failure.contended:
                raise
        else:
            return _settled(pool, decision)
        if contended >= backoff.attempts:
            raise ServiceBusy("too much contention on this source right now; retry shortly")
        backoff.sleep(contended)
        contended += 1
        pool.refresh()
        candidates = tuple(pool.candidates)


def _settled(pool: Pool, decision: Decision) -> Decision:
    if decision.lost_races:
        # Our view of those operators was stale; the next placement re-reads.
        pool.refresh()
    elif decision.winner is not None:
        pool.claimed(decision.winner.operator_id)
    return decision
