"""Skills, end to end: operator tags, a source's and an appeal's required tags,
the fallback after N seconds, drains that skip (never block on) an appeal nobody
free is skilled for, the claim re-checking tags, and the draw staying exact
among the eligible."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from scipy.stats import chisquare  # type: ignore[import-untyped]

from chalicelib.core.ids import utc_now
from chalicelib.models import Operator
from chalicelib.models.appeals import Trigger
from chalicelib.models.sources import get_source_row
from chalicelib.routing.capacity import Pool, place, skill_need
from chalicelib.routing.reassignment import run_reassignment
from tests.support import Api, appeal_body, before_transaction, operator_token

if TYPE_CHECKING:
    from scripts.local.dev_auth import DevKeys


def skilled_team(api: Api, *, max_load: int = 5, **source: Any) -> tuple[dict, dict, dict]:
    """Anna speaks Ukrainian, Boris does not; both serve one source."""
    anna = api.operator("Anna", max_load=max_load, tags=["lang:uk", "product:insurance"])
    boris = api.operator("Boris", max_load=max_load)
    src = api.source(**source)
    api.weights(src["id"], {anna["id"]: 10, boris["id"]: 10})
    return anna, boris, src


def paths(body: dict[str, Any]) -> list[str]:
    return [problem["path"] for problem in body["errors"]]


def decision_of(api: Api, appeal_id: str, kind: str = "assigned") -> dict[str, Any]:
    events = api.get(f"/appeals/{appeal_id}/history").body["events"]
    return next(e for e in reversed(events) if e["type"] == kind)["decision"]


def test_GIVEN_tags_WHEN_creating_and_patching_an_operator_THEN_stored_sorted_unique_and_removable(api: Api) -> None:
    made = api.post("/operators", {"name": "Anna", "tags": ["lang:uk", "lang:en", "lang:uk"]})
    assert made.status == 201 and made.body["tags"] == ["lang:en", "lang:uk"]

    patched = api.patch(f"/operators/{made.body['id']}", {"tags": ["product:insurance"]})
    assert patched.body["tags"] == ["product:insurance"]
    assert api.get(f"/operators/{made.body['id']}").body["tags"] == ["product:insurance"]
    assert api.patch(f"/operators/{made.body['id']}", {"tags": []}).body["tags"] == []
    assert api.post("/operators", {"name": "Boris"}).body["tags"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/operators", {"name": "A", "tags": ["lang:uk", "Lang:UK"]}, "body.tags.1"),
        ("post", "/sources", {"name": "S", "required_tags": ["lang uk"]}, "body.required_tags.0"),
        ("post", "/sources", {"name": "S", "fallback_after_seconds": 0}, "body.fallback_after_seconds"),
        ("post", "/sources", {"name": "S", "line_order": {"mode": "lifo"}}, "body.line_order.mode"),
        ("post", "/sources", {"name": "S", "line_order": {"max_jump_seconds": -1}}, "body.line_order.max_jump_seconds"),
    ],
)
def test_GIVEN_an_unknown_tag_format_or_bad_rule_WHEN_sent_THEN_422_names_the_field(
    api: Api, method: str, path: str, body: dict, field: str
) -> None:
    reply = getattr(api, method)(path, body)

    assert reply.status == 422
    assert field in paths(reply.body)


def test_GIVEN_a_bad_tag_on_an_appeal_or_a_patch_WHEN_sent_THEN_422_names_the_item(api: Api) -> None:
    anna = api.operator("Anna")
    source = api.source()

    appeal = api.post("/appeals", appeal_body(source["id"], required_tags=["lang:uk", "UK"]))
    patch = api.patch(f"/operators/{anna['id']}", {"tags": ["ok:1", "not a tag"]})
    source_patch = api.patch(f"/sources/{source['id']}", {"required_tags": ["x"]})

    assert (appeal.status, patch.status, source_patch.status) == (422, 422, 422)
    assert paths(appeal.body) == ["body.required_tags.1"]
    assert paths(patch.body) == ["body.tags.1"]
    assert paths(source_patch.body) == ["body.required_tags.0"]
    assert {e["type"] for e in appeal.body["errors"] + patch.body["errors"]} == {"tag_format"}


def test_GIVEN_a_source_with_skills_and_line_order_WHEN_read_and_patched_THEN_every_field_round_trips(api: Api) -> None:
    made = api.source(required_tags=["lang:uk"], fallback_after_seconds=120)
    assert made["required_tags"] == ["lang:uk"] and made["fallback_after_seconds"] == 120
    assert made["line_order"] == {"mode": "fifo", "max_jump_seconds": 900, "hot_threshold": 0.7}

    order = {"mode": "priority", "max_jump_seconds": 300, "hot_threshold": 0.8}
    patched = api.patch(f"/sources/{made['id']}", {"line_order": order, "fallback_after_seconds": None})

    assert patched.status == 200
    read = api.get(f"/sources/{made['id']}").body
    assert read["line_order"] == order and read["fallback_after_seconds"] is None
    assert api.patch(f"/sources/{made['id']}", {"required_tags": []}).body["required_tags"] == []


def test_GIVEN_a_source_requiring_a_tag_WHEN_appeals_arrive_THEN_only_the_skilled_get_them_and_the_record_names_others(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, boris, source = skilled_team(api, max_load=50, required_tags=["lang:uk"])

    appeals = [api.appeal(source["id"]) for _ in range(12)]

    assert {a["operator"]["id"] for a in appeals} == {anna["id"]}
    decision = decision_of(api, appeals[0]["id"])
    assert decision["skills"] == {
        "required_tags": ["lang:uk"],
        "fallback": False,
        "fallback_after_seconds": None,
        "lacking": {boris["id"]: ["lang:uk"]},
    }
    assert [c["operator_id"] for c in decision["candidates"]] == [anna["id"]]
    # Anna sees that lang:uk was required, not who else lacked it.
    seen = api.as_(operator_token(dev_keys, anna["id"])).get(f"/appeals/{appeals[0]['id']}/history").body
    assert boris["id"] not in json.dumps(seen)
    assert seen["events"][1]["decision"]["skills"]["lacking"] == {}


def test_GIVEN_an_appeal_requiring_a_tag_nobody_free_has_WHEN_it_arrives_THEN_it_waits_and_says_why(api: Api) -> None:
    _, boris, source = skilled_team(api, max_load=1)
    api.appeal(source["id"], required_tags=["lang:uk"])  # Anna is now full

    waiting = api.appeal(source["id"], required_tags=["lang:uk"], vip=True)

    assert waiting["status"] == "waiting" and waiting["required_tags"] == ["lang:uk"] and waiting["vip"] is True
    queued = decision_of(api, waiting["id"], "queued")
    assert queued["winner"] is None and queued["skills"]["lacking"] == {boris["id"]: ["lang:uk"]}
    assert api.get(f"/operators/{boris['id']}").body["current_load"] == 0


def test_GIVEN_a_skilled_appeal_at_the_head_WHEN_an_unskilled_operator_frees_up_THEN_it_is_skipped_not_a_wall(
    api: Api,
) -> None:
    anna, boris, source = skilled_team(api, max_load=1)
    anna_busy = api.appeal(source["id"], required_tags=["lang:uk"])
    boris_busy = api.appeal(source["id"], required_tags=[])
    assert {anna_busy["operator"]["id"], boris_busy["operator"]["id"]} == {anna["id"], boris["id"]}
    head = api.appeal(source["id"], required_tags=["lang:uk"])
    behind = api.appeal(source["id"])
    assert (head["status"], behind["status"]) == ("waiting", "waiting")

    api.post(f"/appeals/{boris_busy['id']}/close")

    assert api.get(f"/appeals/{head['id']}").body["status"] == "waiting"
    taken = api.get(f"/appeals/{behind['id']}").body
    assert taken["status"] == "active" and taken["operator"]["id"] == boris["id"]

    api.post(f"/appeals/{anna_busy['id']}/close")

    served = api.get(f"/appeals/{head['id']}").body
    assert served["status"] == "active" and served["operator"]["id"] == anna["id"]


def test_GIVEN_an_operator_gaining_the_tag_WHEN_patched_THEN_the_appeal_waiting_for_it_is_handed_out(api: Api) -> None:
    _, boris, source = skilled_team(api, max_load=1)
    api.appeal(source["id"], required_tags=["lang:uk"])
    waiting = api.appeal(source["id"], required_tags=["lang:uk"])

    api.patch(f"/operators/{boris['id']}", {"tags": ["lang:uk"]})

    served = api.get(f"/appeals/{waiting['id']}").body
    assert served["status"] == "active" and served["operator"]["id"] == boris["id"]


def test_GIVEN_a_fallback_WHEN_the_appeal_has_waited_long_enough_THEN_the_scheduled_run_hands_it_to_anyone(
    api: Api,
) -> None:
    _, boris, source = skilled_team(api, max_load=1, required_tags=["lang:uk"], fallback_after_seconds=60)
    api.appeal(source["id"])  # Anna is full
    waiting = api.appeal(source["id"])
    now = utc_now()

    early = run_reassignment(now=now + timedelta(seconds=30))
    assert early.drained == 0 and api.get(f"/appeals/{waiting['id']}").body["status"] == "waiting"

    late = run_reassignment(now=now + timedelta(seconds=61))

    assert late.drained == 1
    served = api.get(f"/appeals/{waiting['id']}").body
    assert served["status"] == "active" and served["operator"]["id"] == boris["id"]
    skills = decision_of(api, waiting["id"])["skills"]
    assert skills == {"required_tags": [], "fallback": True, "fallback_after_seconds": 60, "lacking": {}}


def test_GIVEN_no_fallback_WHEN_the_appeal_waits_for_hours_THEN_it_still_waits_for_a_skilled_operator(api: Api) -> None:
    _, _, source = skilled_team(api, max_load=1, required_tags=["lang:uk"])
    api.appeal(source["id"])
    waiting = api.appeal(source["id"])

    report = run_reassignment(now=utc_now() + timedelta(hours=5))

    assert report.drained == 0 and report.still_waiting == 1
    assert api.get(f"/appeals/{waiting['id']}").body["status"] == "waiting"


def test_GIVEN_an_operator_losing_its_tag_after_the_draw_WHEN_the_claim_commits_THEN_it_is_refused_and_the_appeal_waits(
    api: Api,
) -> None:
    anna = api.operator("Anna", max_load=5, tags=["lang:uk"])
    source = api.source(required_tags=["lang:uk"])
    api.weights(source["id"], {anna["id"]: 10})
    removed: list[bool] = []

    def lose_tag(_: dict[str, Any]) -> None:
        # Between the draw's read and the claim's commit, as an admin's PATCH would land.
        if not removed:
            removed.append(True)
            Operator(anna["id"]).update(actions=[Operator.tags.remove()])

    with before_transaction(lose_tag):
        appeal = api.appeal(source["id"])

    assert appeal["status"] == "waiting"
    queued = decision_of(api, appeal["id"], "queued")
    assert queued["lost_races"] == [anna["id"]] and queued["winner"] is None
    assert api.get(f"/operators/{anna['id']}").body["current_load"] == 0


def test_GIVEN_skills_in_play_WHEN_drawing_many_THEN_shares_among_the_eligible_are_exact(api: Api) -> None:
    """Chi-square on `place` over candidates read from the tables (nothing committed: the
    draw alone): Carol (no tag, the heaviest weight) never wins; Anna and Boris share 1:3."""
    anna = api.operator("Anna", max_load=10, tags=["lang:uk"])
    boris = api.operator("Boris", max_load=10, tags=["lang:uk", "lang:en"])
    carol = api.operator("Carol", max_load=10, tags=["lang:en"])
    source = api.source(required_tags=["lang:uk"])
    api.weights(source["id"], {anna["id"]: 10, boris["id"]: 30, carol["id"]: 60})
    row, pool, rng, n = get_source_row(source["id"]), Pool(source["id"]), random.Random(18), 4000
    need = skill_need(row, ())

    decisions = []
    for _ in range(n):
        decision = place(row, lambda _: None, trigger=Trigger.INTAKE, pool=pool, rng=rng, skills=need)
        decisions.append(decision)
        if decision.winner is not None:
            pool.released(decision.winner.operator_id)  # nothing was committed: keep the pool's loads as read

    winners = Counter(d.winner.operator_id for d in decisions if d.winner is not None)
    assert winners[carol["id"]] == 0
    observed = [winners[anna["id"]], winners[boris["id"]]]
    assert sum(observed) == n
    assert chisquare(observed, [n * 0.25, n * 0.75]).pvalue > 0.001
    assert all(
        d.skills is not None and dict(d.skills.eligibility.lacking) == {carol["id"]: ("lang:uk",)} for d in decisions
    )


def test_GIVEN_a_lapsed_skilled_appeal_WHEN_reclaimed_THEN_it_is_never_handed_to_an_unskilled_operator(
    api: Api,
) -> None:
    anna, boris, source = skilled_team(api, required_tags=["lang:uk"], response_sla_seconds=10)
    appeal = api.appeal(source["id"])
    assert appeal["operator"]["id"] == anna["id"]

    report = run_reassignment(now=utc_now() + timedelta(seconds=11))

    assert (report.lapsed, report.returned_to_line, report.reassigned) == (1, 1, 0)
    assert api.get(f"/appeals/{appeal['id']}").body["status"] == "waiting"
    assert api.get(f"/operators/{boris['id']}").body["current_load"] == 0
    returned = decision_of(api, appeal["id"], "returned_to_line")
    assert returned["excluded"] == [anna["id"]] and returned["skills"]["lacking"] == {boris["id"]: ["lang:uk"]}
