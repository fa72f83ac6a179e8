"""The draw's landing point and the Decision record, as data: no database."""

from __future__ import annotations

import random

from chalicelib.models.appeals import Trigger
from chalicelib.models.sources import Strategy
from chalicelib.routing.draw import Candidate, Decision, draw


def candidate(name: str, weight: int, *, load: int = 0, max_load: int = 10, active: bool = True) -> Candidate:
    return Candidate(name, name.title(), weight, active, load, max_load)


class FixedPoint(random.Random):
    """An rng whose `random()` is the given fraction, so the draw lands where the test says."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def random(self) -> float:
        return self.fraction


def test_GIVEN_weights_10_and_30_WHEN_the_draw_lands_at_a_quarter_or_below_THEN_the_first_wins() -> None:
    candidates = [candidate("a", 10), candidate("b", 30)]

    low = draw(candidates, Strategy.WEIGHTED, FixedPoint(0.2))
    high = draw(candidates, Strategy.WEIGHTED, FixedPoint(0.3))

    assert (low.winner, low.point, low.total) == (candidates[0], 8.0, 40)
    assert high.winner == candidates[1] and high.point == 12.0


def test_GIVEN_only_full_inactive_or_zero_weight_operators_WHEN_drawn_THEN_nobody_wins_and_no_point_is_drawn() -> None:
    candidates = [candidate("full", 5, load=3, max_load=3), candidate("off", 5, active=False), candidate("zero", 0)]

    outcome = draw(candidates, Strategy.WEIGHTED, FixedPoint(0.5))

    assert (outcome.winner, outcome.point, outcome.total) == (None, None, 0)


def test_GIVEN_weighted_capacity_WHEN_drawn_THEN_each_weighs_weight_times_free_capacity() -> None:
    candidates = [candidate("a", 2, load=8, max_load=10), candidate("b", 1, load=0, max_load=10)]

    # a: 2 x 2 = 4, b: 1 x 10 = 10 -> total 14; a point at 5 is past a's 4.
    outcome = draw(candidates, Strategy.WEIGHTED_CAPACITY, FixedPoint(5 / 14))

    assert outcome.total == 14 and outcome.winner == candidates[1]


def test_GIVEN_a_decision_with_an_excluded_and_a_lost_candidate_WHEN_recorded_THEN_the_record_says_why_each_one() -> (
    None
):
    anna, boris, vera = candidate("anna", 10), candidate("boris", 30, load=10, max_load=10), candidate("vera", 5)
    decision = Decision(
        Trigger.SLA_LAPSE,
        Strategy.WEIGHTED,
        (anna, boris, vera),
        vera,
        excluded=("anna",),
        point=1.23456789,
        total=5,
        lost_races=("boris",),
    )

    record = decision.record()

    assert record["trigger"] == "sla_lapse" and record["strategy"] == "weighted"
    assert record["winner"] == "vera" and record["draw"] == 1.234568 and record["draw_total"] == 5
    assert record["excluded"] == ["anna"] and record["lost_races"] == ["boris"]
    by_id = {row["operator_id"]: row for row in record["candidates"]}
    assert by_id["anna"]["eligible"] is False and by_id["anna"]["draw_weight"] == 0  # excluded
    assert by_id["boris"]["eligible"] is False and by_id["boris"]["draw_weight"] == 0  # full
    assert by_id["vera"] == {
        "operator_id": "vera",
        "weight": 5,
        "active_load": 0,
        "max_load": 10,
        "is_active": True,
        "eligible": True,
        "draw_weight": 5,
    }
    assert decision.how == "weighted_draw"


def test_GIVEN_a_sticky_placement_WHEN_recorded_THEN_it_says_sticky_and_no_draw() -> None:
    anna = candidate("anna", 10)

    decision = Decision(Trigger.INTAKE, Strategy.WEIGHTED, (anna,), anna, sticky=True)

    assert decision.record()["sticky"] is True and decision.record()["draw"] is None
    assert decision.how == "sticky"
