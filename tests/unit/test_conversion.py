"""Conversion posteriors: the Beta maths against scipy, hand-computed posteriors,
the pooled prior, and the evidence line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta as scipy_beta  # type: ignore[import-untyped]

from chalicelib.insight.conversion import (
    Outcomes,
    Prior,
    beta_cdf,
    beta_ppf,
    pooled_prior,
    posterior,
    posteriors,
)

shapes = st.one_of(st.floats(0.05, 5), st.floats(5, 500), st.floats(500, 50_000))


@settings(max_examples=150, deadline=None)
@given(a=shapes, b=shapes, x=st.floats(0, 1), p=st.floats(1e-6, 1 - 1e-6))
def test_GIVEN_any_beta_WHEN_cdf_and_quantile_are_computed_THEN_they_match_scipy(
    a: float, b: float, x: float, p: float
) -> None:
    assert beta_cdf(x, a, b) == pytest.approx(scipy_beta.cdf(x, a, b), abs=1e-9)
    assert beta_ppf(p, a, b) == pytest.approx(scipy_beta.ppf(p, a, b), abs=1e-7)


def test_GIVEN_a_uniform_prior_WHEN_3_of_10_convert_THEN_beta_4_8_with_its_90_percent_interval() -> None:
    estimate = posterior(Outcomes("op_b", "Boris", 10, 3), Prior(1, 1))
    assert (estimate.alpha, estimate.beta) == (4, 8)
    assert estimate.mean == pytest.approx(1 / 3)
    assert (estimate.low, estimate.high) == pytest.approx(scipy_beta.ppf([0.05, 0.95], 4, 8), abs=1e-9)
    assert estimate.plus_minus == pytest.approx((estimate.high - estimate.low) / 2)


def test_GIVEN_a_team_WHEN_the_prior_is_pooled_THEN_it_is_the_smoothed_team_rate_worth_ten_appeals() -> None:
    team = [Outcomes("op_b", "Boris", 140, 43), Outcomes("op_a", "Anna", 90, 11), Outcomes("op_n", "Nina", 0, 0)]
    prior = pooled_prior(team)
    assert prior.mean == pytest.approx(55 / 232)
    assert prior.alpha + prior.beta == pytest.approx(10)
    boris, anna, nina = posteriors(team)
    assert boris.evidence == "Boris converts 30 % ± 6 % on 140 appeals"
    assert anna.evidence == "Anna converts 13 % ± 6 % on 90 appeals"
    assert nina.evidence == "Nina has no outcomes yet: assumed 24 % ± 21 %"
    assert nina.mean == pytest.approx(prior.mean)
    assert pooled_prior([]).mean == 0.5
    assert posterior(Outcomes("op_x", "Xu", 1, 1), Prior(1, 1)).evidence.endswith("on 1 appeal")


@settings(max_examples=100, deadline=None)
@given(appeals=st.integers(0, 5000), rate=st.floats(0, 1), a=st.floats(0.1, 20), b=st.floats(0.1, 20))
def test_GIVEN_any_outcomes_WHEN_estimated_THEN_the_mean_lies_inside_its_credible_interval(
    appeals: int, rate: float, a: float, b: float
) -> None:
    estimate = posterior(Outcomes("op", "Op", appeals, round(appeals * rate)), Prior(a, b))
    assert 0 <= estimate.low <= estimate.high <= 1
    # The mean of a Beta lies strictly inside its central 90 % interval unless the interval is degenerate.
    assert estimate.low - 1e-12 <= estimate.mean <= estimate.high + 1e-12


@pytest.mark.parametrize(("appeals", "conversions"), [(3, 4), (3, -1)])
def test_GIVEN_impossible_outcomes_WHEN_built_THEN_refused(appeals: int, conversions: int) -> None:
    with pytest.raises(ValueError, match="conversions"):
        Outcomes("op", "Op", appeals, conversions)


def test_GIVEN_a_bad_prior_or_level_WHEN_used_THEN_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        Prior(0, 1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        beta_ppf(1.5, 1, 1)
