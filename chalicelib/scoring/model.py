"""The learnt scorer: a logistic regression trained on this CRM's outcomes.

Scoring is pure Python (a dot product), so the API pays nothing for numpy;
only the daily training function imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.scoring.base import LeadFeatures, Score, ScorerName, describe, explain, recommend

if TYPE_CHECKING:
    from chalicelib.scoring.trainer import TrainedModel


def model_version(version: int) -> str:
    return f"model-v{version}"


class ModelScorer:
    name: ScorerName = "model"

    def __init__(self, trained: TrainedModel, version: int) -> None:
        self.trained = trained
        self.version = version

    def score(self, features: LeadFeatures) -> Score:
        row = features.model_row()
        score = round(self.trained.predict(row), 4)
        recommendation, why = recommend(score, features)
        factors = explain(self.trained.base_log_odds, self.trained.column_contributions(row))
        pushes = describe(factors[1:], "no feature stood out")
        return Score(
            score=score,
            recommendation=recommendation,
            reason=f"{why}; learnt from {self.trained.trained_rows} outcomes, "
            f"log-odds from the prior {factors[0].contribution:+.2f}: {pushes}",
            factors=factors,
            model_version=model_version(self.version),
        )
