"""Weight suggestions from conversion, applying them, the weights' history and the daily tune job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.jobs import run_job
from chalicelib.models import Lead, Weight
from chalicelib.models.appeals import Trigger
from chalicelib.models.leads import DEALS_LISTED, TRANSFERRED, Deal, deal_id_for, deal_key
from chalicelib.models.sources import get_source_row
from chalicelib.routing.capacity import place

if TYPE_CHECKING:
    from tests.support import Api


def converting_team(api: Api, appeals: int = 24, **source_fields: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Anna and Boris at weight 30 each; every lead Boris was given reached `transferred`, none of Anna's."""
    anna, boris = api.operator("Anna", max_load=100), api.operator("Boris", max_load=100)
    source_id = api.source(**source_fields)["id"]
    api.weights(source_id, {anna["id"]: 30, boris["id"]: 30})
    for _ in range(appeals):
        appeal = api.appeal(source_id)
        if appeal["operator"]["id"] == boris["id"]:
            Lead(appeal["lead_id"]).update(actions=[Lead.stage.set(str(TRANSFERRED))])
    return source_id, anna, boris


def paid_deal(lead_id: str) -> None:
    """The lead's deal, already at `paid` (the funnel's own walk there is tested elsewhere)."""
    deal_id, now = deal_id_for(lead_id), "2026-11-30T00:00:00.000000Z"
    Deal(
        deal_key(deal_id),
        deal_id=deal_id,
        deal_lead_id=lead_id,
        deal_stage="paid",
        created_at=now,
        updated_at=now,
        listed=DEALS_LISTED,
    ).save()
    Lead(lead_id).update(actions=[Lead.deal_id.set(deal_id)])


def by_operator(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["operator_id"]: row for row in body["operators"]}


def test_GIVEN_one_operator_converts_WHEN_reading_suggestions_THEN_posteriors_evidence_and_weights_follow(
    api: Api,
) -> None:
    source_id, anna, boris = converting_team(api)
    boris_lead = next(a["lead_id"] for a in api.get(f"/operators/{boris['id']}/appeals").body["items"])
    paid_deal(boris_lead)

    reply = api.get(f"/sources/{source_id}/suggestions")

    assert reply.status == 200, reply.body
    rows = by_operator(reply.body)
    assert reply.body["appeals"] == 24 and reply.body["auto_tune"] is False
    assert rows[anna["id"]]["appeals"] + rows[boris["id"]]["appeals"] == 24
    assert rows[anna["id"]]["conversions"] == 0
    assert (rows[boris["id"]]["paid"], rows[anna["id"]]["paid"]) == (1, 0)
    assert rows[boris["id"]]["conversions"] == rows[boris["id"]]["appeals"]
    assert rows[boris["id"]]["conversion_mean"] > rows[anna["id"]]["conversion_mean"]
    assert rows[boris["id"]]["conversion_low"] <= rows[boris["id"]]["conversion_mean"] <= 1.0
    assert (rows[boris["id"]]["suggested_weight"], rows[anna["id"]]["suggested_weight"]) == (100, 5)
    assert rows[boris["id"]]["evidence"].startswith("Boris converts ")
    assert rows[boris["id"]]["evidence"].endswith(f"on {rows[boris['id']]['appeals']} appeals")
    # Reading never changes the weights.
    assert {i["weight"] for i in api.get(f"/sources/{source_id}/weights").body["items"]} == {30}


def test_GIVEN_suggestions_WHEN_applying_THEN_weights_move_and_history_says_suggestion(api: Api) -> None:
    source_id, anna, boris = converting_team(api)

    reply = api.post(f"/sources/{source_id}/suggestions/apply")

    assert reply.status == 200, reply.body
    assert reply.body["weights"] == {anna["id"]: 5, boris["id"]: 100} and reply.body["changed"] == 2
    weights = {i["operator_id"]: i["weight"] for i in api.get(f"/sources/{source_id}/weights").body["items"]}
    assert weights == {anna["id"]: 5, boris["id"]: 100}
    history = api.get(f"/sources/{source_id}/weights/history").body["items"]
    assert [h["reason"] for h in history] == ["suggestion", "manual"]
    assert history[0]["changes"] == {anna["id"]: [30, 5], boris["id"]: [30, 100]}
    # The estimates are kept on the weight rows for score-aware draws.
    assert Weight.get(source_id, boris["id"]).conversion > Weight.get(source_id, anna["id"]).conversion


def test_GIVEN_a_score_aware_source_with_estimates_WHEN_placing_a_hot_lead_THEN_the_draw_uses_them(api: Api) -> None:
    source_id, anna, boris = converting_team(api, appeals=12, score_aware=True, score_threshold=0.6)
    run_job("tune")  # score-aware sources get their estimates on the weight rows
    source = get_source_row(source_id)

    hot = place(source, lambda _: None, trigger=Trigger.INTAKE, lead_score=0.8)
    cool = place(source, lambda _: None, trigger=Trigger.INTAKE, lead_score=0.5)

    assert hot.score_aware is not None and cool.score_aware is None
    weights = {c.operator_id: c.weight for c in hot.candidates}
    assert weights[boris["id"]] > weights[anna["id"]] >= 1
    assert hot.record()["score_aware"]["threshold"] == 0.6
    assert {c.weight for c in cool.candidates} == {30}


def test_GIVEN_a_score_aware_source_WHEN_a_hot_returning_lead_writes_THEN_its_decision_record_says_so(
    api: Api,
) -> None:
    source_id, _, boris = converting_team(api, appeals=8, score_aware=True, score_threshold=0.6)
    run_job("tune")
    first = api.appeal(source_id)
    Lead(first["lead_id"]).update(actions=[Lead.ai_score.set(0.9)])

    again = api.appeal(source_id, lead_external_id=first["lead_external_id"])
    cold = api.appeal(source_id)

    def decision(appeal: dict[str, Any]) -> dict[str, Any]:
        events = api.get(f"/appeals/{appeal['id']}/history").body["events"]
        return next(e["decision"] for e in events if e["type"] == "assigned")

    hot = decision(again)["score_aware"]
    assert hot["score"] == 0.9 and hot["threshold"] == 0.6
    assert {m["operator_id"] for m in hot["multipliers"]} >= {boris["id"]}
    assert decision(cold).get("score_aware") is None


def test_GIVEN_auto_tune_WHEN_the_daily_job_runs_THEN_weights_move_at_most_20_percent_with_reasons(api: Api) -> None:
    source_id, anna, boris = converting_team(api, auto_tune=True)
    untouched, *_ = converting_team(api, appeals=4)

    report = run_job("tune")

    assert (report.sources_tuned, report.weights_changed) == (1, 2)  # type: ignore[attr-defined]
    weights = {i["operator_id"]: i["weight"] for i in api.get(f"/sources/{source_id}/weights").body["items"]}
    assert weights == {anna["id"]: 24, boris["id"]: 36}
    latest = api.get(f"/sources/{source_id}/weights/history").body["items"][0]
    assert latest["reason"].startswith("auto_tune: ")
    assert "toward the suggested 5 (the most a day allows)" in latest["reason"]
    assert "Boris converts" in latest["reason"]
    assert {i["weight"] for i in api.get(f"/sources/{untouched}/weights").body["items"]} == {30}


def test_GIVEN_unknown_source_or_bad_n_WHEN_asking_THEN_404_or_422(api: Api) -> None:
    assert api.get("/sources/src_doesnotexist01/suggestions").status == 404
    assert api.post("/sources/src_doesnotexist01/suggestions/apply").status == 404
    assert api.get("/sources/src_doesnotexist01/weights/history").status == 404
    source_id = api.source()["id"]
    reply = api.get(f"/sources/{source_id}/suggestions?n=10001")
    assert reply.status == 422 and [e["path"] for e in reply.body["errors"]] == ["query.n"]
