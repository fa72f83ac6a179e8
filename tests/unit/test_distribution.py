"""The draw itself: pure, so it is tested with many draws and generated inputs."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from chalicelib.routing.draw import Candidate, choose_operator, draw_weight
from chalicelib.schemas.sources import Strategy

DRAWS = 4_000


def candidate(name: str, weight: int, *, load: int = 0, max_load: int = 10, active: bool = True) -> Candidate:
    return Candidate(name, name, weight, active, load, max_load)


def draw_counts(candidates: list[Candidate], strategy: Strategy, seed: int) -> Counter[str]:
    rng = random.Random(seed)
    return Counter(choose_operator(candidates, strategy, rng).operator_id for _ in range(DRAWS))


def test_GIVEN_weights_10_and_30_WHEN_drawing_4000_times_THEN_shares_fit_25_75() -> None:
    counts = draw_counts([candidate("a", 10), candidate("b", 30)], Strategy.WEIGHTED, seed=20261120)

    result = chisquare([counts["a"], counts["b"]], [DRAWS * 0.25, DRAWS * 0.75])

    assert result.pvalue > 0.001


def test_GIVEN_weights_10_and_30_WHEN_drawing_THEN_a_wrong_expectation_is_rejected() -> None:
    # The same test must be able to fail: 50/50 is clearly not what we draw.
    counts = draw_counts([candidate("a", 10), candidate("b", 30)], Strategy.WEIGHTED, seed=20261120)

    assert chisquare([counts["a"], counts["b"]], [DRAWS * 0.5, DRAWS * 0.5]).pvalue < 0.001


def test_GIVEN_weighted_capacity_WHEN_drawing_THEN_shares_follow_weight_times_free_capacity() -> None:
    candidates = [
        candidate("a", 10, load=0, max_load=10),  # 10 × 10 = 100
        candidate("b", 30, load=8, max_load=10),  # 30 × 2 = 60
        candidate("c", 20, load=1, max_load=3),  # 20 × 2 = 40
    ]
    counts = draw_counts(candidates, Strategy.WEIGHTED_CAPACITY, seed=7)

    expected = [DRAWS * 100 / 200, DRAWS * 60 / 200, DRAWS * 40 / 200]
    result = chisquare([counts["a"], counts["b"], counts["c"]], expected)

    assert result.pvalue > 0.001
    # Plain weights would have favoured b; capacity weighting must not.
    assert counts["a"] > counts["b"]


def test_GIVEN_unavailable_operators_WHEN_drawing_THEN_only_available_ones_win() -> None:
    candidates = [
        candidate("off", 100, active=False),
        candidate("full", 100, load=5, max_load=5),
        candidate("over", 100, load=7, max_load=5),
        candidate("zero", 0),
        candidate("ok", 1),
    ]

    winners = {choose_operator(candidates, Strategy.WEIGHTED, random.Random(i)).operator_id for i in range(200)}

    assert winners == {"ok"}


def test_GIVEN_nobody_available_WHEN_drawing_THEN_none() -> None:
    candidates = [candidate("off", 10, active=False), candidate("full", 10, load=1, max_load=1)]

    assert choose_operator(candidates, Strategy.WEIGHTED, random.Random(1)) is None
    assert choose_operator([], Strategy.WEIGHTED_CAPACITY, random.Random(1)) is None


candidates_strategy = st.lists(
    st.builds(
        Candidate,
        operator_id=st.uuids().map(str),
        name=st.just("x"),
        weight=st.integers(0, 100),
        is_active=st.booleans(),
        active_load=st.integers(0, 20),
        max_load=st.integers(0, 20),
    ),
    max_size=8,
)


# No deadline: this is a property of the draw, not of its speed, and a loaded machine must not fail it.
@settings(deadline=None)
@given(candidates_strategy, st.sampled_from(list(Strategy)), st.integers(0, 2**32))
def test_PROPERTY_the_draw_returns_an_available_operator_exactly_when_one_exists(
    candidates: list[Candidate], strategy: Strategy, seed: int
) -> None:
    chosen = choose_operator(candidates, strategy, random.Random(seed))

    if any(c.is_available for c in candidates):
        assert chosen is not None
        assert chosen.is_available
        assert draw_weight(chosen, strategy) > 0
    else:
        assert chosen is None
