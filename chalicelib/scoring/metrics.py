"""How good a scorer's probabilities are: ranking (ROC AUC), accuracy of the
probabilities themselves (Brier score) and a reliability table.

Pure Python: the training job reports these after fitting, and the offline
backtest prints them, without either needing scikit-learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


def _check(labels: Sequence[int], probabilities: Sequence[float]) -> None:
    if len(labels) != len(probabilities):
        raise ValueError(f"{len(labels)} labels but {len(probabilities)} probabilities")
    if not labels:
        raise ValueError("no labels to score")
    if any(label not in (0, 1) for label in labels):
        raise ValueError("labels must be 0 or 1")


def roc_auc(labels: Sequence[int], probabilities: Sequence[float]) -> float:
    """Probability that a random positive is scored above a random negative,
    ties counting one half (the Mann-Whitney U statistic, from average ranks).
    Raises ValueError when either class is missing: AUC is undefined then."""
    _check(labels, probabilities)
    positives = sum(1 for label in labels if label == 1)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("ROC AUC needs both classes")
    order = sorted(range(len(labels)), key=lambda i: probabilities[i])
    positive_rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and probabilities[order[end + 1]] == probabilities[order[start]]:
            end += 1
        # Ranks are 1-based; tied scores share the average of their ranks.
        average_rank = (start + end) / 2 + 1
        positive_rank_sum += average_rank * sum(1 for k in range(start, end + 1) if labels[order[k]] == 1)
        start = end + 1
    u = positive_rank_sum - positives * (positives + 1) / 2
    return u / (positives * negatives)


def brier_score(labels: Sequence[int], probabilities: Sequence[float]) -> float:
    """Mean squared error of the probabilities (0 is perfect; always
    predicting the base rate p scores p * (1 - p))."""
    _check(labels, probabilities)
    return math.fsum((p - y) ** 2 for y, p in zip(labels, probabilities, strict=True)) / len(labels)


@dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    count: int
    # None when the bin is empty: there is nothing to average.
    mean_predicted: float | None
    observed_rate: float | None


def calibration_table(labels: Sequence[int], probabilities: Sequence[float], bins: int = 10) -> list[CalibrationBin]:
    """Equal-width bins over [0, 1] (the last one includes 1.0); every bin is
    listed, empty ones with count 0. A calibrated scorer has mean_predicted
    close to observed_rate in each well-populated bin."""
    _check(labels, probabilities)
    if bins < 1:
        raise ValueError("bins must be at least 1")
    counts = [0] * bins
    predicted: list[list[float]] = [[] for _ in range(bins)]
    hits = [0] * bins
    for y, p in zip(labels, probabilities, strict=True):
        clipped = min(max(p, 0.0), 1.0)
        k = min(int(clipped * bins), bins - 1)
        counts[k] += 1
        predicted[k].append(clipped)
        hits[k] += y
    return [
        CalibrationBin(
            lower=k / bins,
            upper=(k + 1) / bins,
            count=counts[k],
            mean_predicted=math.fsum(predicted[k]) / counts[k] if counts[k] else None,
            observed_rate=hits[k] / counts[k] if counts[k] else None,
        )
        for k in range(bins)
    ]
