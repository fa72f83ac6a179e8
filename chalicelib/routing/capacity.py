"""Operators' capacity: claims and releases, and placing an appeal.

A claim adds the operator and weight rows to the caller's transaction with
conditions, so an appeal changes state and the operator's `active_load`
moves in the same TransactWriteItems:

    claim:   is_active AND presence available AND active_load < max_load   (operator)
             AND contains(tags, t) per required tag  (skills: it still has them)
             weight >= 1                             (operator still serves the source)
    release: active_load > 0 AND active_count > 0    (the counters never go negative)

`place` draws a winner, has the caller build its transaction around it
(the caller's transition claims the winner) and commits. A lost race
(the claim's condition failed) drops that candidate and re-draws among the
rest; contention (TransactionConflict, throttling) backs off and re-reads.
Every placement returns the `Decision` that the appeal's history keeps.

Skills: `place(..., skills=SkillNeed)` draws only among the operators with
every required tag (`skills.eligible_candidates`; after the source's fallback
the requirement is dropped), and the claim re-checks the tags at commit, so an
operator who lost a tag between the read and the write is a lost race.

`active_load`, `active_count` and `assigned_total` change nowhere else.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import UpdateError

from chalicelib.core.errors import ServiceBusy
from chalicelib.core.ids import utc_now
from chalicelib.core.observability import logger
from chalicelib.db.retry import DEFAULT_POLICY, RetryPolicy
from chalicelib.db.transactions import Cancelled, Transaction
from chalicelib.models.operators import Operator, operators_by_id
from chalicelib.models.sources import Source, Strategy
from chalicelib.models.weights import Weight, serving_weights
from chalicelib.routing import presence
from chalicelib.routing.draw import Candidate, Decision, draw, score_adjusted
from chalicelib.routing.skills import Eligibility, eligible_candidates, missing_tags, required_now
from chalicelib.routing.source_cache import source_cache
from chalicelib.schemas.sources import DEFAULT_SCORE_THRESHOLD

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    from pynamodb.expressions.condition import Condition

    from chalicelib.models.appeals import Trigger

__all__ = [
    "CLAIM_LABELS",
    "Pool",
    "SkillCheck",
    "SkillNeed",
    "add_claim",
    "add_release",
    "load_candidates",
    "place",
    "repair_load",
    "skill_need",
]

_default_rng = random.Random()
# The items a claim adds: a cancellation naming one of these is a lost race.
CLAIM_LABELS = ("operator", "weight")


def load_candidates(source_id: str, weights: Sequence[Weight] | None = None) -> list[Candidate]:
    """The source's serving operators with their loads, read fresh (consistent); the weight
    rows too unless the caller has them (intake's warm copy, `source_cache`)."""
    weights = serving_weights(source_id) if weights is None else weights
    operators = operators_by_id([row.operator_id for row in weights], consistent=True)
    now = utc_now()
    return [
        Candidate(
            operator_id=row.operator_id,
            name=operators[row.operator_id].name,
            weight=int(row.weight),
            is_active=operators[row.operator_id].is_active,
            active_load=int(operators[row.operator_id].active_load),
            max_load=int(operators[row.operator_id].max_load),
            conversion=None if row.conversion is None else float(row.conversion),
            **_presence_of(operators[row.operator_id], now),
            tags=frozenset(operators[row.operator_id].tags or ()),
        )
        for row in weights
        if row.operator_id in operators
    ]


def _presence_of(operator: Operator, now: datetime) -> dict[str, Any]:
    stored = operator.presence or presence.AVAILABLE
    why = presence.describe(operator.name, stored, operator.presence_reason, operator.schedule, now)
    return {"presence": stored, "unavailable_because": why}


@dataclass(frozen=True)
class SkillNeed:
    """The tags an appeal requires now: its source's and its own, and how long it has waited."""

    required: frozenset[str]
    waited_seconds: float = 0.0
    fallback_after_seconds: int | None = None

    def still_required(self) -> frozenset[str]:
        return required_now(
            self.required, waited_seconds=self.waited_seconds, fallback_after_seconds=self.fallback_after_seconds
        )


def skill_need(
    source: Source, appeal_tags: Collection[str] | None, *, since: str | None = None, now: datetime | None = None
) -> SkillNeed | None:
    """What an appeal of `source` requires (None: nothing). `since` (ISO, when the appeal
    arrived) and `now` measure its wait, for the source's fallback."""
    required = frozenset(source.required_tags or ()) | frozenset(appeal_tags or ())
    if not required:
        return None
    waited = 0.0
    if since is not None and now is not None:
        waited = max((now - datetime.fromisoformat(since.replace("Z", "+00:00"))).total_seconds(), 0.0)
    fallback = None if source.fallback_after_seconds is None else int(source.fallback_after_seconds)
    return SkillNeed(required, waited, fallback)


@dataclass(frozen=True)
class SkillCheck:
    """Who skills left in the draw; the winner's claim must still hold `required`."""

    eligibility: Eligibility
    fallback_after_seconds: int | None

    @property
    def required(self) -> tuple[str, ...]:
        return self.eligibility.required

    def record(self) -> dict[str, Any]:
        after = self.fallback_after_seconds if self.eligibility.fallback else None
        return {**self.eligibility.record(), "fallback_after_seconds": after}


def _check_skills(candidates: Sequence[Candidate], need: SkillNeed) -> SkillCheck:
    eligibility = eligible_candidates(
        candidates,
        {c.operator_id: c.tags for c in candidates},
        need.required,
        waited_seconds=need.waited_seconds,
        fallback_after_seconds=need.fallback_after_seconds,
    )
    return SkillCheck(eligibility, need.fallback_after_seconds)


def _skill_filtered(
    candidates: tuple[Candidate, ...], skills: SkillNeed | None
) -> tuple[tuple[Candidate, ...], SkillCheck | None]:
    """The candidates skills leave in the draw (all of them without a requirement)."""
    if skills is None:
        return candidates, None
    check = _check_skills(candidates, skills)
    return check.eligibility.candidates, check


class Pool:
    """A source's candidates, read once and kept current by the caller's own
    claims, so draining a line costs two reads, not two per appeal. With
    `cached_weights` (intake) the weight set comes from the warm `source_cache`
    and only the operators' loads are read: the claim's condition still refuses
    an operator who no longer serves the source."""

    def __init__(self, source_id: str, *, cached_weights: bool = False) -> None:
        self.source_id = source_id
        self._cached_weights = cached_weights
        self._candidates: list[Candidate] | None = None

    @property
    def candidates(self) -> list[Candidate]:
        if self._candidates is None:
            weights = source_cache.weights(self.source_id) if self._cached_weights else None
            self._candidates = load_candidates(self.source_id, weights)
        return self._candidates

    def refresh(self) -> None:
        self._candidates = None

    def claimed(self, operator_id: str) -> None:
        self._shift(operator_id, +1)

    def released(self, operator_id: str) -> None:
        self._shift(operator_id, -1)

    def has_capacity(self, exclude: Collection[str] = ()) -> bool:
        return any(c.is_available and c.operator_id not in exclude for c in self.candidates)

    def has_capacity_for(self, need: SkillNeed | None, exclude: Collection[str] = ()) -> bool:
        """Is anyone free who may take an appeal with this skill need? (None: as `has_capacity`.)"""
        if need is None:
            return self.has_capacity(exclude)
        required = need.still_required()
        return any(
            c.is_available and c.operator_id not in exclude and not missing_tags(c.tags, required)
            for c in self.candidates
        )

    def free_capacity(self) -> int:
        return sum(c.free_capacity for c in self.candidates if c.is_available)

    def _shift(self, operator_id: str, delta: int) -> None:
        if self._candidates is not None:
            self._candidates = [
                replace(c, active_load=max(c.active_load + delta, 0)) if c.operator_id == operator_id else c
                for c in self._candidates
            ]


def add_claim(
    tx: Transaction, source_id: str, operator_id: str, *, serving: bool = True, tags: Collection[str] = ()
) -> None:
    """Takes one slot. `serving=False` (a person's choice) drops the "still serves
    this source" condition; the pair's counters still move, so releasing finds them.

    The operator must be employed and available (no presence stored, or "available"):
    a pause or a shift end landing between the draw's read and this commit cancels the
    claim, so a paused or off-shift operator is never handed new work. `tags`: the
    skills the appeal requires, which the operator must still have."""
    available = Operator.presence.does_not_exist() | (Operator.presence == presence.AVAILABLE)
    condition = (Operator.is_active == True) & available & (Operator.active_load < Operator.max_load)  # noqa: E712
    held = _has_tags(tags)
    if held is not None:
        condition &= held
    tx.update("operator", Operator(operator_id), [Operator.active_load.add(1)], condition=condition)
    tx.update(
        "weight",
        Weight(source_id, operator_id),
        [Weight.assigned_total.add(1), Weight.active_count.add(1)],
        condition=Weight.weight >= 1 if serving else None,
    )


def _has_tags(tags: Collection[str]) -> Condition | None:
    """`contains(tags, :t)` per tag: one more clause per required tag, no extra read."""
    condition: Condition | None = None
    for tag in sorted(tags):
        clause = Operator.tags.contains(tag)
        condition = clause if condition is None else condition & clause
    return condition


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


def repair_load(operator_id: str, recorded: int, actual: int) -> bool:
    """The audit's repair: sets `active_load` to the counted value, only if it
    still holds the value the audit saw."""
    try:
        Operator(operator_id).update(
            actions=[Operator.active_load.set(actual)], condition=Operator.active_load == recorded
        )
    except UpdateError as exc:
        # Changed since we looked (or in a transaction right now): the next run decides.
        logger.info("drift repair skipped", extra={"operator_id": operator_id, "error": exc.cause_response_code})
        return False
    return True


def place(
    source: Source,
    build: Callable[[Decision], Transaction | None],
    *,
    trigger: Trigger,
    pool: Pool | None = None,
    exclude: Collection[str] = (),
    prefer: str | None = None,
    rng: random.Random | None = None,
    policy: RetryPolicy | None = None,
    lead_score: float | None = None,
    skills: SkillNeed | None = None,
) -> Decision:
    """Commits `build(decision)`, whose transition claims the winner (`add_claim`).

    With no winner (nobody free) `build` may return None to commit nothing
    (a drain leaves the appeal where it is). `prefer` is tried first when it
    is eligible (sticky routing); `exclude` are never chosen. Cancellations
    that are not about the claim (e.g. the caller's own conditions) propagate
    as `Cancelled` for the caller to interpret. On a `score_aware` source a
    `lead_score` at or above its threshold draws with weight × conversion
    (the estimates ride on the weight rows already read: no extra request).
    With `skills` only operators with every required tag are drawn (the
    decision's `skills` names who was skipped) and the claim re-checks them.
    """
    rng = rng or _default_rng
    policy = policy or DEFAULT_POLICY
    pool = pool or Pool(source.source_id)
    strategy = Strategy(source.strategy)
    excluded = tuple(sorted(set(exclude)))
    lost: list[str] = []
    contended = 0
    # Each lost race removes a candidate, so that loop ends by itself; only
    # contention retries are bounded by the retry policy.
    while True:
        candidates, check = _skill_filtered(tuple(pool.candidates), skills)
        decision = replace(_decide(trigger, strategy, candidates, excluded, tuple(lost), prefer, rng), skills=check)
        if source.score_aware and decision.winner is not None and not decision.sticky:
            decision = _decide_hot(decision, source, lead_score, rng)
        tx = build(decision)
        if tx is None:
            return _settled(pool, decision)
        try:
            tx.commit()
        except Cancelled as failure:
            if decision.winner is not None and any(failure.failed(label) for label in CLAIM_LABELS):
                lost.append(decision.winner.operator_id)
                continue
            if not failure.contended:
                raise
        else:
            return _settled(pool, decision)
        if contended >= policy.attempts:
            raise ServiceBusy("too much contention on this source right now; retry shortly")
        policy.pause(contended)
        contended += 1
        pool.refresh()


def _decide(
    trigger: Trigger,
    strategy: Strategy,
    candidates: tuple[Candidate, ...],
    excluded: tuple[str, ...],
    lost: tuple[str, ...],
    prefer: str | None,
    rng: random.Random,
) -> Decision:
    open_to_draw = [c for c in candidates if c.operator_id not in excluded and c.operator_id not in lost]
    sticky = next((c for c in open_to_draw if c.operator_id == prefer and c.is_available), None)
    if sticky is not None:
        return Decision(trigger, strategy, candidates, sticky, excluded, sticky=True, lost_races=lost)
    outcome = draw(open_to_draw, strategy, rng)
    return Decision(trigger, strategy, candidates, outcome.winner, excluded, False, outcome.point, outcome.total, lost)


def _decide_hot(decision: Decision, source: Source, lead_score: float | None, rng: random.Random) -> Decision:
    """The same draw over score-adjusted weights, when the lead is hot enough."""
    threshold = float(source.score_threshold if source.score_threshold is not None else DEFAULT_SCORE_THRESHOLD)
    adjusted, why = score_adjusted(decision.candidates, lead_score, threshold)
    if why is None:
        return decision
    shut = set(decision.excluded) | set(decision.lost_races)
    outcome = draw([c for c in adjusted if c.operator_id not in shut], decision.strategy, rng)
    return replace(
        decision, candidates=adjusted, winner=outcome.winner, point=outcome.point, total=outcome.total, score_aware=why
    )


def _settled(pool: Pool, decision: Decision) -> Decision:
    if decision.lost_races:
        # Our view of those operators was stale; the next placement re-reads.
        pool.refresh()
    elif decision.winner is not None:
        pool.claimed(decision.winner.operator_id)
    return decision
