"""Weight suggestions (probability of being best) and auto-tune's bounds, with a
seeded simulation: daily auto-tune on synthetic traffic through the real draw."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.insight.conversion import Outcomes, Prior, posterior, posteriors
from chalicelib.insight.suggestions import MAX_WEIGHT, auto_tune, probability_best, suggest_weights
from chalicelib.routing.draw import Candidate, draw
from chalicelib.schemas.sources import Strategy


def test_GIVEN_posteriors_WHEN_probability_best_is_computed_THEN_it_matches_monte_carlo() -> None:
    team = [Outcomes("b", "Boris", 140, 43), Outcomes("a", "Anna", 90, 11), Outcomes("n", "Nina", 0, 0)]
    team.append(Outcomes("c", "Chen", 2000, 560))
    estimates = posteriors(team)
    exact = probability_best(estimates)
    rng = np.random.default_rng(7)
    samples = np.stack([rng.beta(p.alpha, p.beta, 200_000) for p in estimates])
    sampled = np.bincount(samples.argmax(axis=0), minlength=len(estimates)) / samples.shape[1]
    assert exact == pytest.approx(list(sampled), abs=0.005)
    assert math.fsum(exact) == pytest.approx(1)


def test_GIVEN_identical_operators_WHEN_compared_THEN_each_is_equally_likely_best() -> None:
    same = [posterior(Outcomes(f"op{i}", f"Op{i}", 100, 20), Prior(2, 8)) for i in range(4)]
    assert probability_best(same) == pytest.approx([0.25] * 4, abs=1e-6)
    assert probability_best(same[:1]) == [1.0] and probability_best([]) == []


def test_GIVEN_a_clear_best_and_a_clear_worst_WHEN_suggested_THEN_best_gets_100_worst_the_floor_with_evidence() -> None:
    team = [Outcomes("b", "Boris", 140, 43), Outcomes("a", "Anna", 90, 11), Outcomes("c", "Chen", 120, 30)]
    boris, anna, chen = suggest_weights(posteriors(team), min_weight=5)
    assert (boris.weight, anna.weight) == (MAX_WEIGHT, 5)
    assert 5 <= chen.weight < MAX_WEIGHT
    assert boris.evidence == "Boris converts 30 % ± 6 % on 140 appeals"


def test_GIVEN_weights_WHEN_auto_tuned_THEN_each_moves_at_most_20_percent_toward_its_suggestion_with_a_reason() -> None:
    tuning = auto_tune(
        {"boris": 20, "anna": 20, "chen": 20, "new": 1, "gone": 7},
        {"boris": 100, "anna": 5, "chen": 22, "new": 60, "stranger": 50},
        min_weight=5,
        evidence={"boris": "Boris converts 31 % ± 6 % on 140 appeals"},
    )
    assert dict(tuning.weights) == {"boris": 24, "anna": 16, "chen": 22, "new": 5, "gone": 7}
    reasons = {change.operator_id: change.reason for change in tuning.changes}
    boris = "Boris converts 31 % ± 6 % on 140 appeals"
    assert reasons == {
        "boris": f"up 20 → 24 toward the suggested 100 (the most a day allows): {boris}",
        "anna": "down 20 → 16 toward the suggested 5 (the most a day allows)",
        "chen": "up 20 → 22 toward the suggested 22",
        "new": "raised 1 → 5, the minimum weight, so everyone keeps learning",
    }
    floor = auto_tune({"anna": 6}, {"anna": 1}, min_weight=5)
    assert dict(floor.weights) == {"anna": 5}
    assert floor.changes[0].reason == "down 6 → 5 toward the suggested 1 (the minimum weight)"


@settings(max_examples=80, deadline=None)
@given(
    current=st.dictionaries(st.sampled_from("abcdefgh"), st.integers(1, 100), min_size=1),
    suggested=st.dictionaries(st.sampled_from("abcdefghij"), st.integers(1, 100)),
    min_weight=st.integers(1, 20),
)
def test_GIVEN_any_weights_WHEN_auto_tuned_THEN_bounded_steps_floor_and_ceiling_hold(
    current: dict[str, int], suggested: dict[str, int], min_weight: int
) -> None:
    tuning = auto_tune(current, suggested, min_weight=min_weight)
    assert set(tuning.weights) == set(current)
    for operator_id, old in current.items():
        new = tuning.weights[operator_id]
        if operator_id not in suggested:
            assert new == old
            continue
        assert new >= min_weight and new <= MAX_WEIGHT
        if old >= min_weight:
            assert abs(new - old) <= max(1, math.floor(old * 0.2))
            # Never past the suggestion, unless the floor holds it up.
            assert min(old, suggested[operator_id]) <= new <= max(old, suggested[operator_id]) or new == min_weight
    assert {c.operator_id for c in tuning.changes} == {k for k in current if tuning.weights[k] != current[k]}


def test_GIVEN_synthetic_traffic_WHEN_auto_tuned_for_30_days_THEN_the_best_converter_leads_nobody_starves() -> None:
    true_rates = {"anna": 0.10, "boris": 0.30, "chen": 0.20, "dara": 0.15, "eli": 0.22}
    weights = dict.fromkeys(true_rates, 20)
    appeals = dict.fromkeys(true_rates, 0)
    conversions = dict.fromkeys(true_rates, 0)
    rng = random.Random(19)
    min_weight = 5
    for day in range(30):
        candidates = [Candidate(k, k.title(), w, True, 0, 10**6) for k, w in weights.items()]
        served_today = dict.fromkeys(true_rates, 0)
        for _ in range(300):
            winner = draw(candidates, Strategy.WEIGHTED, rng).winner
            assert winner is not None
            served_today[winner.operator_id] += 1
            appeals[winner.operator_id] += 1
            conversions[winner.operator_id] += rng.random() < true_rates[winner.operator_id]
        assert all(served_today.values()), f"day {day}: someone got nothing: {served_today}"
        estimates = posteriors([Outcomes(k, k.title(), appeals[k], conversions[k]) for k in true_rates])
        suggestions = suggest_weights(estimates, min_weight=min_weight)
        tuning = auto_tune(weights, {s.operator_id: s.weight for s in suggestions}, min_weight=min_weight)
        for operator_id, new in tuning.weights.items():
            old = weights[operator_id]
            assert new >= min_weight
            assert abs(new - old) <= max(1, math.floor(old * 0.2))
        weights = dict(tuning.weights)
    share = weights["boris"] / sum(weights.values())
    assert max(weights, key=weights.__getitem__) == "boris"
    assert share > 0.6, weights
    assert weights["anna"] == min_weight
