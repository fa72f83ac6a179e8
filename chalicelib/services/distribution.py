"""Who gets an appeal: a weighted random draw, then an atomic claim.

The draw (`choose_operator`) is pure. The claim adds the operator and weight
rows to the caller's transaction with conditions, so an appeal changes state
and the operator's `active_load` moves in the same TransactWriteItems:

    claim:   is_active AND active_load < max_load   (operator)
             weight >= 1                             (operator still serves the source)

A lost race (condition failed) drops that candidate and re-draws among the
rest; contention (TransactionConflict, throttling) backs off and re-reads.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chalicelib.errors import ServiceBusy
from chalicelib.models import Operator, Source, Weight
from chalicelib.schemas.sources import Strategy
from chalicelib.services.transactions import Backoff, Cancelled, Transaction

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


def choose_operator(candidates: Sequence[Candidate], strategy: Strategy, rng: random.Random) -> Candidate | None:
    """One operator, with probability proportional to its draw weight; None if nobody is free."""
    weights = [draw_weight(candidate, strategy) for candidate in candidates]
    if not any(weights):
        return None
    return rng.choices(list(candidates), weights=weights, k=1)[0]


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


def add_claim(tx: Transaction, source_id: str, operator_id: str) -> None:
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
        condition=Weight.weight >= 1,
    )


def add_release(tx: Transaction, source_id: str, operator_id: str) -> None:
    # A negative counter would mean the invariant already broke: refuse.
    tx.update("operator", Operator(operator_id), [Operator.active_load.add(-1)], condition=Operator.active_load > 0)
    tx.update(
        "weight", Weight(source_id, operator_id), [Weight.active_count.add(-1)], condition=Weight.active_count > 0
    )


def place(
    source: Source,
    build: Callable[[Candidate | None], Transaction],
    *,
    rng: random.Random | None = None,
    backoff: Backoff | None = None,
) -> Candidate | None:
    """Commits `build(chosen)` plus a claim on `chosen`, or `build(None)` when nobody is free.

    Returns the operator that got the appeal (None: it waits). Cancellations
    that are not about the claim (e.g. the caller's own conditions) propagate
    as `Cancelled` for the caller to interpret.
    """
    rng = rng or _default_rng
    backoff = backoff or Backoff()
    strategy = Strategy(source.strategy)
    candidates = load_candidates(source.source_id)
    lost: set[str] = set()
    contended = 0
    # Each lost race removes a candidate, so that loop ends by itself; only
    # contention retries are bounded by the backoff budget.
    while True:
        chosen = choose_operator([c for c in candidates if c.operator_id not in lost], strategy, rng)
        tx = build(chosen)
        if chosen is not None:
            add_claim(tx, source.source_id, chosen.operator_id)
        try:
            tx.commit()
            return chosen
        except Cancelled as failure:
            if chosen is not None and (failure.failed("operator") or failure.failed("weight")):
                lost.add(chosen.operator_id)
                continue
            if not failure.contended:
                raise
        if contended >= backoff.attempts:
            raise ServiceBusy("too much contention on this source right now; retry shortly")
        backoff.sleep(contended)
        contended += 1
        candidates = load_candidates(source.source_id)
