"""What the admin's scoring view reads: which scorer answers and the model in use."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from chalicelib.schemas.common import Output


class ModelSummary(Output):
    version: int
    model_version: str = Field(description="As scores name it: model-v<N>")
    trained_at: datetime
    positives: int = Field(description="Transferred leads it learnt from")
    negatives: int = Field(description="Lost leads it learnt from")
    holdout_auc: float | None = Field(description="ROC AUC on the 30% holdout at training time")
    holdout_brier: float | None = Field(description="Brier score on the holdout (lower is better)")


class ScoringStatus(Output):
    scorer: str = Field(description="The configured scorer (SCORER): rules, model or llm")
    answering: str = Field(
        description="Who answers a score now: rules-v1, model-v<N> or llm:<model id> (which falls back when it fails)"
    )
    model: ModelSummary | None = Field(description="The trained model in use; null until the first training")
