"""Every score explains itself: each scorer path returns the prior it starts
from as its first factor, so no factor list is ever empty (issue 18)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.scoring.base import PRIOR, Factor, LeadFeatures, Score
from chalicelib.scoring.llm import LlmScorer
from chalicelib.scoring.model import ModelScorer
from chalicelib.scoring.rules import BASE, RulesScorer
from chalicelib.scoring.trainer import train

if TYPE_CHECKING:
    from chalicelib.scoring.trainer import TrainedModel

FRESH = LeadFeatures()

lead_features = st.builds(
    LeadFeatures,
    source_id=st.one_of(st.none(), st.sampled_from(["src_a", "src_b", "src_unseen"])),
    source_points=st.floats(-0.3, 0.3),
    stage=st.sampled_from(["new", "contacted", "qualified", "transferred", "lost"]),
    message_count=st.integers(0, 50),
    appeals_count=st.integers(0, 10),
    business_domain=st.one_of(st.none(), st.sampled_from(["retail", "it", "unheard-of"])),
    days_since_created=st.floats(0, 400),
)


class FakeBedrock:
    """The Converse call with one canned reply (the ConverseClient interface)."""

    def __init__(self, body: dict[str, Any] | None) -> None:
        self.body = body

    def converse(self, **kwargs: Any) -> dict[str, Any]:
        content = [] if self.body is None else [{"text": json.dumps(self.body)}]
        return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": "end_turn"}


def trained_model() -> TrainedModel:
    rows: list[dict[str, float | str | None]] = []
    labels: list[int] = []
    for i in range(60):
        rows.append({"source": "src_a" if i % 3 else "src_b", "message_count": float(i % 7), "business_domain": None})
        labels.append(int(i % 7 >= 3 or i % 5 == 0))
    return train(rows, labels, rare_min_count=1)


def first_is_prior(score: Score) -> Factor:
    assert score.factors, "a score with no factor explains nothing"
    assert score.factors[0].feature == PRIOR
    assert [f.feature for f in score.factors].count(PRIOR) == 1
    return score.factors[0]


def test_GIVEN_a_fresh_lead_WHEN_rules_score_it_THEN_the_base_points_are_the_only_factor() -> None:
    score = RulesScorer().score(FRESH)

    assert [(f.feature, f.contribution) for f in score.factors] == [(PRIOR, BASE)]
    assert score.score == BASE


def test_GIVEN_a_fresh_lead_WHEN_the_model_scores_it_THEN_the_prior_is_the_average_leads_log_odds() -> None:
    trained = trained_model()

    score = ModelScorer(trained, version=3).score(FRESH)

    prior = first_is_prior(score)
    assert prior.contribution == pytest.approx(trained.base_log_odds, abs=1e-4)
    # Prior plus the pushes is the score's log-odds (up to the top-5 cut and rounding).
    total = sum(f.contribution for f in score.factors)
    assert total == pytest.approx(math.log(score.score / (1 - score.score)), abs=1e-2)
    assert "from the prior" in score.reason


def test_GIVEN_an_llm_reply_with_no_factors_WHEN_scored_THEN_the_implied_prior_is_listed() -> None:
    client = FakeBedrock({"score": 0.2, "reason": "nothing known yet", "factors": []})

    score = LlmScorer(client, "model-x", fallback=RulesScorer()).score(FRESH)

    assert score.fallback_reason is None
    assert [(f.feature, f.contribution) for f in score.factors] == [(PRIOR, round(math.log(0.2 / 0.8), 4))]


@pytest.mark.parametrize("score_value", [0.0, 1.0])
def test_GIVEN_an_llm_reply_of_certainty_WHEN_scored_THEN_the_prior_stays_finite(score_value: float) -> None:
    client = FakeBedrock({"score": score_value, "reason": "sure", "factors": []})

    score = LlmScorer(client, "model-x", fallback=RulesScorer()).score(FRESH)

    assert math.isfinite(first_is_prior(score).contribution)


def test_GIVEN_an_llm_that_fails_WHEN_scored_THEN_the_fallbacks_score_still_lists_its_prior() -> None:
    score = LlmScorer(FakeBedrock(None), "model-x", fallback=RulesScorer()).score(FRESH)

    assert score.fallback_reason == "llm failed: empty reply"
    assert first_is_prior(score).contribution == BASE


@settings(max_examples=200, deadline=None)
@given(features=lead_features)
def test_GIVEN_any_lead_WHEN_rules_score_it_THEN_the_prior_leads_a_non_empty_list(features: LeadFeatures) -> None:
    score = RulesScorer().score(features)

    assert first_is_prior(score).contribution == BASE
    assert len(score.factors) <= 6


MODEL = trained_model()


@settings(max_examples=100, deadline=None)
@given(features=lead_features)
def test_GIVEN_any_lead_WHEN_the_model_scores_it_THEN_the_prior_leads_a_non_empty_list(features: LeadFeatures) -> None:
    score = ModelScorer(MODEL, version=1).score(features)

    assert first_is_prior(score).contribution == pytest.approx(MODEL.base_log_odds, abs=1e-4)


def test_GIVEN_a_score_with_no_factor_WHEN_built_THEN_it_is_refused() -> None:
    with pytest.raises(ValidationError, match="factors"):
        Score(score=0.5, recommendation="continue_qualification", reason="r", factors=[], model_version="x")
