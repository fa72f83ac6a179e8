"""Skills: tag format, eligibility, the waiting fallback, and the weighted draw
staying exact among the eligible (chi-square)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from scipy.stats import chisquare  # type: ignore[import-untyped]

from chalicelib.models.sources import Strategy
from chalicelib.routing.draw import Candidate, draw, draw_weight
from chalicelib.routing.skills import (
    SkillRule,
    Tags,
    eligible,
    eligible_candidates,
    missing_tags,
    parse_tags,
    required_now,
)


def candidate(operator_id: str, weight: int, *, load: int = 0, max_load: int = 5, active: bool = True) -> Candidate:
    return Candidate(operator_id, operator_id.title(), weight, active, load, max_load)


@pytest.mark.parametrize("tag", ["lang:uk", "product:insurance", "a:0", "region_1:eu-west.2", "x" + "y" * 31 + ":z"])
def test_GIVEN_a_well_formed_tag_WHEN_parsed_THEN_it_is_kept(tag: str) -> None:
    assert parse_tags([tag]) == (tag,)


@pytest.mark.parametrize(
    "tag",
    ["lang", "Lang:uk", "lang:UK", ":uk", "lang:", "1lang:uk", "lang:-uk", "lang: uk", "lang:uk:x", "a" * 33 + ":b"],
)
def test_GIVEN_a_malformed_tag_WHEN_parsed_THEN_422_names_the_field_and_item(tag: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_tags(["lang:uk", tag], field="required_tags")
    assert [(e["loc"], e["type"]) for e in raised.value.errors()] == [(("required_tags", 1), "tag_format")]


def test_GIVEN_tags_in_an_api_model_WHEN_validated_THEN_sorted_unique_and_bad_ones_named() -> None:
    class OperatorTags(BaseModel):
        tags: Tags

    assert OperatorTags(tags=("lang:uk", "lang:en", "lang:uk")).tags == ("lang:en", "lang:uk")
    with pytest.raises(ValidationError) as raised:
        OperatorTags.model_validate({"tags": ["lang:en", "LANG:EN"]})
    assert [e["loc"] for e in raised.value.errors()] == [("tags", 1)]
    with pytest.raises(ValidationError) as too_many:
        OperatorTags.model_validate({"tags": [f"n:{i}" for i in range(33)]})
    assert too_many.value.errors()[0]["loc"] == ("tags",)


def test_GIVEN_a_skill_rule_WHEN_fallback_is_zero_or_unknown_field_THEN_422() -> None:
    with pytest.raises(ValidationError) as raised:
        SkillRule.model_validate({"required_tags": ["lang:uk"], "fallback_after_seconds": 0, "extra": 1})
    assert sorted(e["loc"] for e in raised.value.errors()) == [("extra",), ("fallback_after_seconds",)]


def test_GIVEN_requirements_WHEN_checked_THEN_every_required_tag_is_needed() -> None:
    assert eligible({"lang:uk", "lang:en"}, {"lang:uk"})
    assert eligible(set(), set())
    assert not eligible({"lang:en"}, {"lang:uk", "lang:en"})
    assert missing_tags(["lang:en"], ["product:auto", "lang:uk", "lang:en"]) == ("lang:uk", "product:auto")


def test_GIVEN_a_fallback_WHEN_the_appeal_has_waited_long_enough_THEN_anyone_is_eligible() -> None:
    assert required_now({"lang:uk"}, waited_seconds=299.9, fallback_after_seconds=300) == {"lang:uk"}
    assert required_now({"lang:uk"}, waited_seconds=300, fallback_after_seconds=300) == frozenset()
    assert required_now({"lang:uk"}, waited_seconds=10**9, fallback_after_seconds=None) == {"lang:uk"}
    team = [candidate("anna", 1), candidate("boris", 1)]
    tags = {"anna": {"lang:uk"}}
    before = eligible_candidates(team, tags, {"lang:uk"}, waited_seconds=10, fallback_after_seconds=300)
    assert [c.operator_id for c in before.candidates] == ["anna"]
    assert before.lacking == (("boris", ("lang:uk",)),) and not before.fallback
    after = eligible_candidates(team, tags, {"lang:uk"}, waited_seconds=301, fallback_after_seconds=300)
    assert [c.operator_id for c in after.candidates] == ["anna", "boris"]
    assert after.fallback and after.record() == {"required_tags": [], "fallback": True, "lacking": {}}


TAG_POOL = ["lang:uk", "lang:en", "lang:ru", "product:auto", "product:life"]


@settings(max_examples=60, deadline=None)
@given(
    team=st.lists(st.frozensets(st.sampled_from(TAG_POOL), max_size=4), min_size=0, max_size=8),
    required=st.frozensets(st.sampled_from(TAG_POOL), max_size=3),
)
def test_GIVEN_any_team_WHEN_filtered_THEN_exactly_those_with_every_tag_remain_in_order(
    team: list[frozenset[str]], required: frozenset[str]
) -> None:
    candidates = [candidate(f"op{i}", i + 1) for i in range(len(team))]
    tags = {f"op{i}": have for i, have in enumerate(team)}
    result = eligible_candidates(candidates, tags, required)
    assert [c.operator_id for c in result.candidates] == [f"op{i}" for i, have in enumerate(team) if required <= have]
    assert {operator_id for operator_id, _ in result.lacking} == {
        f"op{i}" for i, have in enumerate(team) if not required <= have
    }


def _shares(
    candidates: list[Candidate], tags: dict[str, set[str]], required: set[str], strategy: Strategy, **wait: Any
) -> tuple[dict[str, int], list[Candidate]]:
    rng = random.Random(20260601)
    counts = {c.operator_id: 0 for c in candidates}
    pool = list(eligible_candidates(candidates, tags, required, **wait).candidates)
    for _ in range(30_000):
        winner = draw(pool, strategy, rng).winner
        assert winner is not None
        counts[winner.operator_id] += 1
    return counts, pool


TEAM = [
    candidate("anna", 1),
    candidate("boris", 7),
    candidate("chen", 3, load=2, max_load=4),
    candidate("dara", 9),
    candidate("eli", 2, load=1, max_load=6),
    candidate("full", 5, load=3, max_load=3),
    candidate("off", 5, active=False),
]
TEAM_TAGS = {
    "anna": {"lang:uk", "product:auto"},
    "boris": {"lang:en", "product:auto"},
    "chen": {"lang:uk", "product:auto", "lang:en"},
    "dara": {"lang:uk"},
    "eli": {"lang:uk", "product:auto"},
    "full": {"lang:uk", "product:auto"},
    "off": {"lang:uk", "product:auto"},
}


@pytest.mark.parametrize("strategy", list(Strategy))
def test_GIVEN_skills_in_play_WHEN_drawn_30k_times_THEN_shares_match_weights_among_the_eligible_only(
    strategy: Strategy,
) -> None:
    counts, pool = _shares(TEAM, TEAM_TAGS, {"lang:uk", "product:auto"}, strategy)
    drawable = [c for c in pool if draw_weight(c, strategy) > 0]
    assert {c.operator_id for c in drawable} == {"anna", "chen", "eli"}
    # Nobody without the skills, nor the full or inactive ones, is ever drawn.
    assert {k for k, v in counts.items() if v} == {"anna", "chen", "eli"}
    observed = [counts[c.operator_id] for c in drawable]
    total_weight = sum(draw_weight(c, strategy) for c in drawable)
    expected = [sum(observed) * draw_weight(c, strategy) / total_weight for c in drawable]
    assert chisquare(observed, expected).pvalue > 0.001


def test_GIVEN_the_fallback_is_due_WHEN_drawn_THEN_shares_match_weights_among_everyone_free() -> None:
    counts, _ = _shares(
        TEAM, TEAM_TAGS, {"lang:uk", "product:life"}, Strategy.WEIGHTED, waited_seconds=60, fallback_after_seconds=60
    )
    free = [c for c in TEAM if c.is_available]
    observed = [counts[c.operator_id] for c in free]
    expected = [sum(observed) * c.weight / sum(f.weight for f in free) for c in free]
    assert chisquare(observed, expected).pvalue > 0.001
    assert counts["full"] == counts["off"] == 0
