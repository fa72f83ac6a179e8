"""Who gets an appeal, as pure data: a weighted random draw among the
candidates, and the `Decision` that records why.

No database here: `chalicelib.routing.capacity` reads the candidates and
claims the winner's capacity in the same transaction that moves the appeal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.models.sources import Strategy

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

    from chalicelib.models.appeals import Trigger

__all__ = [
    "Candidate",
    "Decision",
    "Draw",
    "ScoreAware",
    "SkillFilter",
    "choose_operator",
    "draw",
    "draw_weight",
    "score_adjusted",
]

# Score-aware weights are weight × conversion on this scale, so they stay whole numbers
# with three digits of the estimate (a weight of 1 at a 0.1 % estimate still counts).
_SCALE = 1000


@dataclass(frozen=True)
class Candidate:
    operator_id: str
    name: str
    weight: int
    is_active: bool
    active_load: int
    max_load: int
    # The operator's conversion estimate for this source (kept on its weight row by the tune job).
    conversion: float | None = None
    # Presence as stored ("available" | "paused" | "off_shift"), and why it cannot be drawn for
    # its presence or hours right now ("Anna: off shift until 09:00 Europe/Kyiv"; None: it can).
    presence: str = "available"
    unavailable_because: str | None = None
    # The operator's skills (chalicelib/routing/skills.py): only filter who is drawn, never the weights.
    tags: frozenset[str] = frozenset()

    @property
    def free_capacity(self) -> int:
        return max(self.max_load - self.active_load, 0)

    @property
    def is_present(self) -> bool:
        """Available and on shift (the schedule read at draw time, exact while the shift job lags)."""
        return self.presence == "available" and self.unavailable_because is None

    @property
    def is_available(self) -> bool:
        return self.is_active and self.is_present and self.weight >= 1 and self.active_load < self.max_load


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


@dataclass(frozen=True)
class ScoreAware:
    """A hot lead's draw: each weight was multiplied by the operator's conversion estimate."""

    score: float
    threshold: float
    weights: tuple[tuple[str, int, float], ...]  # (operator id, configured weight, conversion used)

    def record(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 6),
            "threshold": self.threshold,
            "multipliers": [{"operator_id": o, "weight": w, "conversion": round(c, 6)} for o, w, c in self.weights],
        }


def score_adjusted(
    candidates: Sequence[Candidate], score: float | None, threshold: float
) -> tuple[tuple[Candidate, ...], ScoreAware | None]:
    """For a lead scored at or above `threshold`: each candidate's weight becomes
    weight × conversion estimate (× 1000, rounded, at least 1 while the weight is:
    nobody is starved). An operator without an estimate counts at the mean of the
    others' (all without: the draw is unchanged). Below the threshold, or unscored:
    the candidates as they are and no adjustment."""
    if score is None or score < threshold:
        return tuple(candidates), None
    known = [c.conversion for c in candidates if c.conversion is not None]
    if not known:
        return tuple(candidates), None
    fallback = sum(known) / len(known)
    adjusted: list[Candidate] = []
    used: list[tuple[str, int, float]] = []
    for c in candidates:
        conversion = c.conversion if c.conversion is not None else fallback
        weight = max(1, round(c.weight * conversion * _SCALE)) if c.weight >= 1 else 0
        adjusted.append(replace(c, weight=weight))
        used.append((c.operator_id, c.weight, conversion))
    return tuple(adjusted), ScoreAware(score, threshold, tuple(used))


def choose_operator(candidates: Sequence[Candidate], strategy: Strategy, rng: random.Random) -> Candidate | None:
    return draw(candidates, strategy, rng).winner


class SkillFilter(Protocol):
    """What skills did to a draw (chalicelib/routing/capacity.SkillCheck): the tags the
    winner's claim must still hold, and the record of who was left out."""

    @property
    def required(self) -> tuple[str, ...]: ...

    def record(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Decision:
    """Why an appeal went where it went (or why it waits)."""

    trigger: Trigger
    strategy: Strategy
    candidates: tuple[Candidate, ...]
    winner: Candidate | None
    excluded: tuple[str, ...] = ()
    sticky: bool = False
    point: float | None = None
    total: int = 0
    lost_races: tuple[str, ...] = ()
    # Set when a hot lead's draw used weight × conversion (the candidates carry the adjusted weights).
    score_aware: ScoreAware | None = None
    # Set when tags were required: the candidates are the eligible ones, the record names the rest.
    skills: SkillFilter | None = None

    @property
    def how(self) -> str:
        """For the logs: how the winner was picked."""
        return "sticky" if self.sticky else "weighted_draw"

    def record(self) -> dict[str, Any]:
        extra = {} if self.score_aware is None else {"score_aware": self.score_aware.record()}
        if self.skills is not None:
            extra["skills"] = self.skills.record()
        return {
            "trigger": self.trigger.value,
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
                    **({} if c.presence == "available" else {"presence": c.presence}),
                    **({} if c.unavailable_because is None else {"not_drawn_because": c.unavailable_because}),
                }
                for c in self.candidates
            ],
            "excluded": list(self.excluded),
            "lost_races": list(self.lost_races),
            "draw": None if self.point is None else round(self.point, 6),
            "draw_total": self.total,
            "winner": self.winner.operator_id if self.winner else None,
            **extra,
        }
