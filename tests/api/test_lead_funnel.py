"""The lead funnel, the sales hand-off gate and the deal pipeline, over HTTP."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import Api, on_dynamodb_call

STAGES = ["new", "contacted", "qualified", "transferred", "lost"]
# (from, to) moves POST /leads/{id}/stage allows; everything else is a 409.
ALLOWED = {
    ("new", "contacted"),
    ("contacted", "qualified"),
    ("new", "lost"),
    ("contacted", "lost"),
    ("qualified", "lost"),
}


def new_lead(api: Api, **fields: Any) -> dict[str, Any]:
    source = api.source()
    return api.get(f"/leads/{api.appeal(source['id'], **fields)['lead_id']}").body


def move(api: Api, lead_id: str, stage: str) -> dict[str, Any]:
    reply = api.post(f"/leads/{lead_id}/stage", {"stage": stage})
    assert reply.status == 200, reply.body
    return reply.body


def lead_at(api: Api, stage: str) -> dict[str, Any]:
    if stage == "transferred":
        lead = api.transferable_lead()
        assert api.post(f"/leads/{lead['id']}/transfer").status == 201
        return api.get(f"/leads/{lead['id']}").body
    lead = new_lead(api)
    path = {"new": [], "contacted": ["contacted"], "qualified": ["contacted", "qualified"], "lost": ["lost"]}[stage]
    for step in path:
        lead = move(api, lead["id"], step)
    assert lead["stage"] == stage
    return lead


def test_GIVEN_a_first_appeal_WHEN_the_lead_is_read_THEN_it_starts_new_with_its_source_and_one_message(
    api: Api,
) -> None:
    source = api.source()
    lead = api.get(f"/leads/{api.appeal(source['id'])['lead_id']}").body

    assert lead["stage"] == "new"
    assert lead["source_id"] == source["id"]
    assert lead["message_count"] == 1
    assert lead["ai_score"] is None and lead["score_stale"] is False


def test_GIVEN_a_returning_lead_WHEN_more_messages_arrive_THEN_message_count_grows_on_every_path(api: Api) -> None:
    plain, sticky = api.source(), api.source(sticky=True)
    first = api.appeal(plain["id"], lead_external_id="tg:grow")
    api.appeal(plain["id"], lead_external_id="tg:grow")
    api.appeal(sticky["id"], lead_external_id="tg:grow")
    attached = api.post("/appeals", {**_body(sticky["id"], "tg:grow"), "message_id": "follow-up"})

    lead = api.get(f"/leads/{first['lead_id']}").body
    assert attached.status == 200  # attached to the open sticky appeal, not a new one
    assert lead["appeals_count"] == 3
    assert lead["message_count"] == 4


def _body(source_id: str, external_id: str) -> dict[str, Any]:
    return {"lead_external_id": external_id, "source_id": source_id, "message": "one more question"}


@pytest.mark.parametrize(("current", "wanted"), list(itertools.product(STAGES, STAGES)))
def test_GIVEN_a_lead_at_each_stage_WHEN_moved_to_each_stage_THEN_only_one_step_forward_or_to_lost_is_allowed(
    api: Api, current: str, wanted: str
) -> None:
    lead = lead_at(api, current)

    reply = api.post(f"/leads/{lead['id']}/stage", {"stage": wanted})

    if (current, wanted) in ALLOWED:
        assert reply.status == 200, reply.body
        assert reply.body["stage"] == wanted
        return
    assert reply.status == 409, reply.body
    message = reply.body["message"]
    if current in ("transferred", "lost"):
        assert f"is {current}, a final stage" in message
    else:
        allowed = [to for (frm, to) in sorted(ALLOWED) if frm == current]
        assert all(stage in message for stage in allowed), message
        assert "allowed" in message or "can move to" in message
    assert api.get(f"/leads/{lead['id']}").body["stage"] == current


def test_GIVEN_a_qualified_lead_WHEN_moved_to_transferred_by_stage_THEN_409_points_to_the_transfer_gate(
    api: Api,
) -> None:
    lead = lead_at(api, "qualified")

    reply = api.post(f"/leads/{lead['id']}/stage", {"stage": "transferred"})

    assert reply.status == 409
    assert "allowed: lost" in reply.body["message"]
    assert "/transfer" in reply.body["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"stage": "won"}, "body.stage"), ({}, "body.stage"), ({"stage": "lost", "why": "x"}, "body.why")],
)
def test_GIVEN_a_bad_stage_body_WHEN_posted_THEN_422_names_the_field(api: Api, body: dict, field: str) -> None:
    lead = new_lead(api)

    reply = api.post(f"/leads/{lead['id']}/stage", body)

    assert reply.status == 422
    assert field in [error["path"] for error in reply.body["errors"]]


def test_GIVEN_an_unknown_lead_WHEN_moved_patched_transferred_or_scored_THEN_404(api: Api) -> None:
    unknown = "ld_0000000000000000000000ff"
    assert api.post(f"/leads/{unknown}/stage", {"stage": "lost"}).status == 404
    assert api.patch(f"/leads/{unknown}", {"name": "X"}).status == 404
    assert api.post(f"/leads/{unknown}/transfer").status == 404
    assert api.post(f"/leads/{unknown}/analyze").status == 404
    assert api.get(f"/leads/{unknown}/history").status == 404


def test_GIVEN_a_lead_WHEN_patched_THEN_contacts_and_domain_change_and_null_clears(api: Api) -> None:
    lead = new_lead(api, lead_phone="+79990001122")

    patched = api.patch(
        f"/leads/{lead['id']}",
        {"name": "Ivan", "email": "ivan@example.com", "business_domain": " retail ", "phone": None},
    )

    assert patched.status == 200, patched.body
    assert patched.body["name"] == "Ivan"
    assert patched.body["email"] == "ivan@example.com"
    assert patched.body["business_domain"] == "retail"
    assert patched.body["phone"] is None
    assert api.get(f"/leads/{lead['id']}").body == patched.body


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "body"), ({"stage": "lost"}, "body.stage"), ({"business_domain": ""}, "body.business_domain")],
)
def test_GIVEN_a_bad_patch_WHEN_sent_THEN_422_and_nothing_changes(api: Api, body: dict, field: str) -> None:
    lead = new_lead(api)

    reply = api.patch(f"/leads/{lead['id']}", body)

    assert reply.status == 422, reply.body
    assert field in [error["path"] for error in reply.body["errors"]]
    assert api.get(f"/leads/{lead['id']}").body == lead


def test_GIVEN_leads_at_several_stages_WHEN_listing_by_stage_THEN_only_that_stage_latest_change_first(
    api: Api,
) -> None:
    first, second = lead_at(api, "contacted"), lead_at(api, "contacted")
    lead_at(api, "lost")
    new_lead(api)

    page = api.get("/leads?stage=contacted").body

    assert [lead["id"] for lead in page["items"]] == [second["id"], first["id"]]
    assert api.get("/leads?stage=won").status == 422


# --- the hand-off gate -------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("contacted", ["its stage is contacted, not qualified"]),
        ("no_domain", ["it has no business_domain"]),
        ("unscored", ["it has no ai_score yet"]),
        ("low_score", ["its ai_score 0.50 is below 0.6", "it has no business_domain"]),
    ],
)
def test_GIVEN_a_lead_failing_a_transfer_rule_WHEN_transferred_THEN_409_says_which_and_nothing_changes(
    api: Api, setup: str, expected: list[str]
) -> None:
    lead = new_lead(api)
    if setup != "low_score":
        api.patch(f"/leads/{lead['id']}", {"business_domain": "retail"})
    move(api, lead["id"], "contacted")
    if setup != "contacted":
        move(api, lead["id"], "qualified")
    if setup == "no_domain":
        api.post(f"/leads/{lead['id']}/analyze")
        api.patch(f"/leads/{lead['id']}", {"business_domain": None})
    elif setup in ("contacted", "low_score"):
        api.post(f"/leads/{lead['id']}/analyze")
    before = api.get(f"/leads/{lead['id']}").body

    reply = api.post(f"/leads/{lead['id']}/transfer")

    assert reply.status == 409, reply.body
    for reason in expected:
        assert reason in reply.body["message"]
    assert api.get(f"/leads/{lead['id']}").body == before
    assert api.get("/deals").body["items"] == []


def test_GIVEN_a_qualified_well_scored_lead_WHEN_transferred_THEN_a_deal_exists_and_the_lead_is_transferred(
    api: Api,
) -> None:
    lead = api.transferable_lead()

    reply = api.post(f"/leads/{lead['id']}/transfer")

    assert reply.status == 201, reply.body
    deal = reply.body["deal"]
    assert reply.body["lead"]["stage"] == "transferred"
    assert reply.body["lead"]["deal_id"] == deal["id"]
    assert deal["lead_id"] == lead["id"] and deal["stage"] == "new"
    assert deal["business_domain"] == "retail" and deal["ai_score_at_transfer"] == lead["ai_score"]
    assert api.get(f"/deals/{deal['id']}").body == deal
    assert [d["id"] for d in api.get("/deals").body["items"]] == [deal["id"]]


def test_GIVEN_a_transferred_lead_WHEN_transferred_again_THEN_409_names_its_deal_and_no_second_deal(
    api: Api,
) -> None:
    lead = api.transferable_lead()
    deal = api.post(f"/leads/{lead['id']}/transfer").body["deal"]

    again = api.post(f"/leads/{lead['id']}/transfer")

    assert again.status == 409
    assert f"already transferred (deal {deal['id']})" in again.body["message"]
    assert len(api.get("/deals").body["items"]) == 1


# --- deals -------------------------------------------------------------------


def test_GIVEN_a_deal_WHEN_it_goes_through_the_pipeline_one_step_at_a_time_THEN_it_ends_paid_with_its_history(
    api: Api,
) -> None:
    lead = api.transferable_lead()
    deal_id = api.post(f"/leads/{lead['id']}/transfer").body["deal"]["id"]

    stages = [api.post(f"/deals/{deal_id}/stage", {"stage": s}).body["stage"] for s in ("kyc", "agreement", "paid")]

    deal = api.get(f"/deals/{deal_id}").body
    assert stages == ["kyc", "agreement", "paid"]
    assert [(e["type"], e.get("from_stage"), e.get("to_stage")) for e in deal["history"]] == [
        ("created", None, "new"),
        ("stage_changed", "new", "kyc"),
        ("stage_changed", "kyc", "agreement"),
        ("stage_changed", "agreement", "paid"),
    ]


@pytest.mark.parametrize(
    ("reached", "wanted", "message"),
    [
        ([], "agreement", "is new; the only allowed move is to kyc"),
        ([], "paid", "is new; the only allowed move is to kyc"),
        (["kyc"], "kyc", "is already kyc; the only allowed move is to agreement"),
        (["kyc"], "new", "is kyc; the only allowed move is to agreement"),
        (["kyc", "agreement", "paid"], "new", "is paid, a final stage"),
    ],
)
def test_GIVEN_a_deal_WHEN_a_step_is_skipped_repeated_or_reversed_THEN_409_names_the_allowed_move(
    api: Api, reached: list[str], wanted: str, message: str
) -> None:
    lead = api.transferable_lead()
    deal_id = api.post(f"/leads/{lead['id']}/transfer").body["deal"]["id"]
    for stage in reached:
        assert api.post(f"/deals/{deal_id}/stage", {"stage": stage}).status == 200

    reply = api.post(f"/deals/{deal_id}/stage", {"stage": wanted})

    assert reply.status == 409
    assert message in reply.body["message"]
    assert api.get(f"/deals/{deal_id}").body["stage"] == (reached[-1] if reached else "new")


def test_GIVEN_no_such_deal_WHEN_read_or_moved_THEN_404_and_bad_stage_422(api: Api) -> None:
    assert api.get("/deals/dl_0000000000000000000000ff").status == 404
    assert api.get("/deals/ld_0000000000000000000000ff").status == 404
    assert api.post("/deals/dl_0000000000000000000000ff/stage", {"stage": "kyc"}).status == 404
    lead = api.transferable_lead()
    deal_id = api.post(f"/leads/{lead['id']}/transfer").body["deal"]["id"]
    assert api.post(f"/deals/{deal_id}/stage", {"stage": "won"}).status == 422


def test_GIVEN_many_deals_WHEN_listed_THEN_newest_first_and_paged(api: Api) -> None:
    deal_ids = []
    for _ in range(3):
        lead = api.transferable_lead()
        deal_ids.append(api.post(f"/leads/{lead['id']}/transfer").body["deal"]["id"])

    first = api.get("/deals?limit=2").body
    second = api.get(f"/deals?limit=2&cursor={first['next']}").body

    assert [d["id"] for d in first["items"] + second["items"]] == list(reversed(deal_ids))
    assert second["next"] is None
    assert [lead["id"] for lead in api.get("/leads").body["items"]]  # deals never show up as leads
    assert all(lead["id"].startswith("ld_") for lead in api.get("/leads").body["items"])


# --- history -----------------------------------------------------------------


def test_GIVEN_a_lead_taken_to_sales_WHEN_its_history_is_read_THEN_stages_scores_and_transfer_oldest_first(
    api: Api,
) -> None:
    lead = api.transferable_lead()
    deal_id = api.post(f"/leads/{lead['id']}/transfer").body["deal"]["id"]

    events = api.get(f"/leads/{lead['id']}/history").body["events"]

    assert [e["type"] for e in events] == ["stage_changed", "stage_changed", "scored", "stage_changed", "transferred"]
    assert [(e.get("from_stage"), e.get("to_stage")) for e in events if e["type"] == "stage_changed"] == [
        ("new", "contacted"),
        ("contacted", "qualified"),
        ("qualified", "transferred"),
    ]
    scored = events[2]
    assert scored["model_version"] == "rules-v1" and scored["score"] == lead["ai_score"]
    assert scored["trigger"] == "analyze"
    assert events[-1]["deal_id"] == deal_id
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)


def test_GIVEN_the_lead_row_busy_in_another_transaction_WHEN_its_stage_moves_THEN_it_is_retried_not_a_500(
    api: Api,
) -> None:
    lead = new_lead(api)
    refusals = []

    def busy_once(**_: object) -> None:
        # What DynamoDB answers an UpdateItem on a row an intake transaction holds.
        if not refusals:
            refusals.append(True)
            raise ClientError(
                {"Error": {"Code": "TransactionConflictException", "Message": "in a transaction"}}, "UpdateItem"
            )

    with on_dynamodb_call("UpdateItem", busy_once):
        reply = api.post(f"/leads/{lead['id']}/stage", {"stage": "contacted"})

    assert refusals == [True]
    assert reply.status == 200, reply.body
    assert [e["to_stage"] for e in api.get(f"/leads/{lead['id']}/history").body["events"]] == ["contacted"]
