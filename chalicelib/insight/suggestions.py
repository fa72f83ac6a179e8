"""Suggested weights from conversion posteriors, and ``auto_tune``: the bounded
daily step a source opts into.

The rule: **weight ∝ probability of being the best converter** (Thompson
sampling's allocation, computed exactly rather than sampled). The operator most
likely to be best gets 100 (the largest weight a source takes), everyone else
``round(100 · P(best_i) / max P(best))``, never below ``min_weight``.

Why not proportional to the posterior mean: with rates 30 % and 10 % it keeps
sending a quarter of the leads to the weaker converter forever, however sure
we are; the cost grows linearly with traffic. Probability-of-best sends more
to whoever is likely best *and* keeps exploring exactly as long as the data
leaves doubt: two operators with 40 appeals each and overlapping intervals
get similar weights, the same two after 2,000 appeals do not. The floor keeps
newcomers learning (a Beta posterior never gets the data to move without
traffic), and ``auto_tune`` damps the move to at most ±20 % a day, so one
lucky day cannot swing a team. Capacity still caps anyone's load: a larger
weight is a larger share of what is free, never more than ``max_load``.

P(best) is ∫ f_i(x) Π_{j≠i} F_j(x) dx on a grid fine enough for the narrowest
posterior (≥ 8 points per standard deviation), with each F_j the running
trapezoid of its density, prefix/suffix products for the Π: O(n · grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.insight.conversion import beta_ppf

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from chalicelib.insight.conversion import Posterior

__all__ = [
    "MAX_WEIGHT",
    "MIN_WEIGHT",
    "Suggestion",
    "Tuning",
    "WeightChange",
    "auto_tune",
    "probability_best",
    "suggest_weights",
]

MAX_WEIGHT = 100  # the API's largest weight (chalicelib/schemas/sources.py: WeightIn)
MIN_WEIGHT = 5  # the default floor: 20 % of it is one whole unit, so ±20 % steps stay exact
_MAX_GRID = 20_000


def probability_best(posteriors: Sequence[Posterior]) -> list[float]:
    """P(operator i has the highest conversion rate) under independent Beta posteriors; sums to 1."""
    count = len(posteriors)
    if count == 0:
        return []
    if count == 1:
        return [1.0]
    low = min(beta_ppf(1e-9, p.alpha, p.beta) for p in posteriors)
    high = max(beta_ppf(1 - 1e-9, p.alpha, p.beta) for p in posteriors)
    narrowest = min(
        math.sqrt(p.alpha * p.beta / ((p.alpha + p.beta) ** 2 * (p.alpha + p.beta + 1))) for p in posteriors
    )
    points = min(_MAX_GRID, max(201, math.ceil((high - low) / (narrowest / 8)) + 1))
    step = (high - low) / (points - 1)
    xs = [min(max(low + k * step, 1e-300), 1 - 1e-16) for k in range(points)]
    log_x = [math.log(x) for x in xs]
    log_1mx = [math.log1p(-x) for x in xs]
    densities: list[list[float]] = []
    cdfs: list[list[float]] = []
    for p in posteriors:
        log_norm = math.lgamma(p.alpha + p.beta) - math.lgamma(p.alpha) - math.lgamma(p.beta)
        density = [
            math.exp(min((p.alpha - 1) * lx + (p.beta - 1) * l1 + log_norm, 700.0))
            for lx, l1 in zip(log_x, log_1mx, strict=True)
        ]
        running, total = [0.0] * points, 0.0
        for k in range(1, points):
            total += (density[k - 1] + density[k]) * step / 2
            running[k] = total
        scale = 1.0 / total if total > 0 else 0.0
        densities.append(density)
        cdfs.append([value * scale for value in running])
    best = [0.0] * count
    for k in range(points):
        prefix = [1.0] * (count + 1)
        for j in range(count):
            prefix[j + 1] = prefix[j] * cdfs[j][k]
        suffix = 1.0
        weight = step if 0 < k < points - 1 else step / 2
        for i in range(count - 1, -1, -1):
            best[i] += densities[i][k] * prefix[i] * suffix * weight
            suffix *= cdfs[i][k]
    total = sum(best)
    if total <= 0:
        return [1.0 / count] * count
    return [value / total for value in best]


@dataclass(frozen=True)
class Suggestion:
    operator_id: str
    weight: int
    p_best: float
    posterior: Posterior

    @property
    def evidence(self) -> str:
        return self.posterior.evidence


def suggest_weights(posteriors: Sequence[Posterior], *, min_weight: int = MIN_WEIGHT) -> list[Suggestion]:
    """Weights ∝ probability of being best: the likeliest best gets 100, nobody below `min_weight`."""
    if not 1 <= min_weight <= MAX_WEIGHT:
        raise ValueError(f"min_weight must be between 1 and {MAX_WEIGHT}")
    chances = probability_best(posteriors)
    top = max(chances, default=0.0)
    return [
        Suggestion(p.operator_id, max(min_weight, round(MAX_WEIGHT * chance / top)) if top else min_weight, chance, p)
        for p, chance in zip(posteriors, chances, strict=True)
    ]


@dataclass(frozen=True)
class WeightChange:
    operator_id: str
    old: int
    new: int
    reason: str  # for the weights' history: why, with the evidence


@dataclass(frozen=True)
class Tuning:
    weights: Mapping[str, int]  # every current operator's weight after today's step
    changes: tuple[WeightChange, ...]  # only the weights that moved


def auto_tune(
    current_weights: Mapping[str, int],
    suggested: Mapping[str, int],
    *,
    max_step: float = 0.20,
    min_weight: int = MIN_WEIGHT,
    evidence: Mapping[str, str] | None = None,
) -> Tuning:
    """One day's move of each weight toward its suggestion: at most ``max_step`` of
    the current weight (at least one unit, weights being whole numbers), never
    below `min_weight` nor above 100. Operators without a suggestion keep their
    weight; suggestions for operators not serving the source are ignored
    (auto-tune never adds or removes anyone)."""
    if not 0 < max_step <= 1:
        raise ValueError("max_step must be in (0, 1]")
    if not 1 <= min_weight <= MAX_WEIGHT:
        raise ValueError(f"min_weight must be between 1 and {MAX_WEIGHT}")
    evidence = evidence or {}
    weights: dict[str, int] = {}
    changes: list[WeightChange] = []
    for operator_id, old in current_weights.items():
        target = suggested.get(operator_id)
        if target is None:
            weights[operator_id] = old
            continue
        step = max(1, math.floor(old * max_step))
        new = min(max(target, old - step, min_weight), old + step, MAX_WEIGHT)
        if old < min_weight:
            new = max(new, min_weight)
        weights[operator_id] = new
        if new != old:
            why = _reason(old, new, target, min_weight)
            if operator_id in evidence:
                why += f": {evidence[operator_id]}"
            changes.append(WeightChange(operator_id, old, new, why))
    return Tuning(weights, tuple(changes))


def _reason(old: int, new: int, target: int, min_weight: int) -> str:
    if old < min_weight and new == min_weight:
        return f"raised {old} → {new}, the minimum weight, so everyone keeps learning"
    direction = "up" if new > old else "down"
    if new == target:
        held = ""
    elif new == min_weight and target < min_weight:
        held = " (the minimum weight)"
    elif new == MAX_WEIGHT and target > MAX_WEIGHT:
        held = " (the largest weight)"
    else:
        held = " (the most a day allows)"
    return f"{direction} {old} → {new} toward the suggested {target}{held}"
