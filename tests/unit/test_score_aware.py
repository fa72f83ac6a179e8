"""Score-aware routing as data: a hot lead's draw weights are weight × conversion estimate."""

from __future__ import annotations

import random
from collections import Counter

from scipy.stats import chisquare

from chalicelib.models.appeals import Trigger
from chalicelib.routing.draw import Candidate, Decision, choose_operator, score_adjusted
from chalicelib.schemas.sources import Strategy

DRAWS = 4_000


def team() -> list[Candidate]:
    # Equal weights; Boris converts three times as often as Anna, Vera has no estimate yet.
    return [
        Candidate("anna", "Anna", 10, True, 0, 10, conversion=0.1),
        Candidate("boris", "Boris", 10, True, 0, 10, conversion=0.3),
        Candidate("vera", "Vera", 10, True, 0, 10),
    ]


def test_GIVEN_a_hot_lead_WHEN_drawing_4000_times_THEN_shares_fit_weight_times_conversion() -> None:
    adjusted, why = score_adjusted(team(), score=0.9, threshold=0.7)
    rng = random.Random(20261130)

    counts = Counter(choose_operator(adjusted, Strategy.WEIGHTED, rng).operator_id for _ in range(DRAWS))

    # Vera counts at the others' mean (0.2): expected shares 0.1 : 0.3 : 0.2 of 0.6.
    assert [c.weight for c in adjusted] == [1000, 3000, 2000]
    expected = [DRAWS / 6, DRAWS / 2, DRAWS / 3]
    assert chisquare([counts["anna"], counts["boris"], counts["vera"]], expected).pvalue > 0.001
    # ... and the unadjusted thirds are rejected: the test can tell the two apart.
    assert chisquare([counts["anna"], counts["boris"], counts["vera"]], [DRAWS / 3] * 3).pvalue < 0.001
    assert why is not None and why.record()["multipliers"][1] == {
        "operator_id": "boris",
        "weight": 10,
        "conversion": 0.3,
    }


def test_GIVEN_a_cool_or_unscored_lead_WHEN_adjusting_THEN_weights_are_untouched() -> None:
    for score in (None, 0.69):
        adjusted, why = score_adjusted(team(), score=score, threshold=0.7)
        assert [c.weight for c in adjusted] == [10, 10, 10] and why is None


def test_GIVEN_no_estimates_or_a_tiny_one_WHEN_adjusting_THEN_nobody_is_starved() -> None:
    unknown = [Candidate("a", "A", 5, True, 0, 1), Candidate("b", "B", 7, True, 0, 1)]
    assert score_adjusted(unknown, 0.9, 0.7) == (tuple(unknown), None)
    tiny = [Candidate("a", "A", 1, True, 0, 1, conversion=0.0001), Candidate("b", "B", 0, True, 0, 1, conversion=0.5)]
    assert [c.weight for c in score_adjusted(tiny, 0.9, 0.7)[0]] == [1, 0]


def test_GIVEN_a_score_aware_decision_WHEN_recorded_THEN_the_record_says_so() -> None:
    adjusted, why = score_adjusted(team(), score=0.8, threshold=0.7)
    decision = Decision(Trigger.INTAKE, Strategy.WEIGHTED, adjusted, adjusted[1], score_aware=why)

    record = decision.record()

    assert record["score_aware"]["score"] == 0.8 and record["score_aware"]["threshold"] == 0.7
    assert [c["draw_weight"] for c in record["candidates"]] == [1000, 3000, 2000]
    assert "score_aware" not in Decision(Trigger.INTAKE, Strategy.WEIGHTED, adjusted, None).record()
