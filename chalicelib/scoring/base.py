"""What every scorer takes, what it returns, and how a score becomes advice.

Scoring only advises (design guarantee 6): a `Score` is written next to the
lead's stage, never instead of a human decision.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.funnel.transfer import TRANSFER_THRESHOLD
from chalicelib.models.leads import Recommendation
from chalicelib.schemas.common import StoredFloat

__all__ = [
    "DROP_THRESHOLD",
    "PRIOR",
    "TOP_FACTORS",
    "TRANSFER_THRESHOLD",
    "Factor",
    "LeadFeatures",
    "Recommendation",
    "Score",
    "Scorer",
    "ScorerName",
    "Value",
    "describe",
    "explain",
    "recommend",
    "top_factors",
]

ScorerName = Literal["rules", "model", "llm"]

# Advice to transfer starts where the transfer gate opens (one threshold, in the funnel).
DROP_THRESHOLD = 0.25
# How many factors a score keeps: enough to explain, small enough to read.
TOP_FACTORS = 5
# The factor every score starts from: the rules' base points, the model's
# log-odds for the average training lead. A fresh lead with no signal at all
# still shows where its score came from.
PRIOR = "prior"

Value = float | str | None


class LeadFeatures(BaseModel):
    """What a scorer may know about a lead. No name, phone, e-mail or message
    text: these never reach a scorer, so they can never reach a prompt or a log."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    source_id: str | None = None
    # Points the source's admin gives its leads (rules backend), -0.3..0.3.
    source_points: float = 0.0
    stage: str = "new"
    message_count: int = Field(0, ge=0)
    appeals_count: int = Field(0, ge=0)
    business_domain: str | None = None
    days_since_created: float = Field(0.0, ge=0)

    def model_row(self) -> dict[str, Value]:
        """The columns the trained model sees. Stage is left out on purpose:
        the outcome *is* a stage, so it would leak the label into training."""
        domain = (self.business_domain or "").strip().lower() or None
        return {
            "source": self.source_id,
            "business_domain": domain,
            "message_count": float(self.message_count),
            "appeals_count": float(self.appeals_count),
            "days_since_created": float(self.days_since_created),
        }


class Factor(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    feature: str
    # Signed: positive pushes the score up. Rules: points of score; model and
    # llm: log-odds.
    contribution: StoredFloat


class Score(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    score: StoredFloat = Field(ge=0.0, le=1.0)
    recommendation: Recommendation
    reason: str
    # Never empty: the prior comes first, then the strongest pushes from it.
    factors: list[Factor] = Field(min_length=1)
    # Which scorer and version produced this ("rules-v1", "model-v3", "llm:<model id>").
    model_version: str
    # Set when the configured scorer failed and another answered: why.
    fallback_reason: str | None = None


class Scorer(Protocol):
    name: ScorerName

    def score(self, features: LeadFeatures) -> Score: ...


def recommend(score: float, features: LeadFeatures) -> tuple[Recommendation, str]:
    """Advice from a score, with the sentence that says why. A high score
    without a business domain cannot be transferred yet, so it asks for one."""
    if score >= TRANSFER_THRESHOLD:
        if features.business_domain:
            return Recommendation.TRANSFER_TO_SALES, f"score {score:.2f} is at or above {TRANSFER_THRESHOLD}"
        return (
            Recommendation.CONTINUE_QUALIFICATION,
            f"score {score:.2f} is high enough, but the business domain is unknown: ask for it",
        )
    if score < DROP_THRESHOLD:
        return Recommendation.DROP_LEAD, f"score {score:.2f} is below {DROP_THRESHOLD}"
    return (
        Recommendation.CONTINUE_QUALIFICATION,
        f"score {score:.2f} is between {DROP_THRESHOLD} and {TRANSFER_THRESHOLD}",
    )


def top_factors(contributions: dict[str, float], limit: int = TOP_FACTORS) -> list[Factor]:
    """Largest absolute contributions first; zero contributions say nothing."""
    ranked = sorted(
        ((name, value) for name, value in contributions.items() if value != 0), key=lambda kv: (-abs(kv[1]), kv[0])
    )
    return [Factor(feature=name, contribution=round(value, 4)) for name, value in ranked[:limit]]


def explain(prior: float, contributions: dict[str, float], limit: int = TOP_FACTORS) -> list[Factor]:
    """The prior a score starts from, then up to `limit` of the strongest
    pushes away from it: the one shape of every scorer's factor list."""
    return [Factor(feature=PRIOR, contribution=round(prior, 4)), *top_factors(contributions, limit)]


def describe(factors: list[Factor], when_none: str) -> str:
    """Factors in words for a reason: "stage=qualified +0.20, business_domain +0.20"."""
    return ", ".join(f"{f.feature} {f.contribution:+.2f}" for f in factors) or when_none
