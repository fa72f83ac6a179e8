"""Sticky sources: returning leads go back to their operator; follow-ups attach."""

from __future__ import annotations

from tests.support import Api, appeal_body


def test_GIVEN_a_returning_lead_on_a_sticky_source_WHEN_it_writes_again_THEN_its_last_operator_gets_it(
    api: Api,
) -> None:
    anna, boris = api.operator("Anna"), api.operator("Boris")
    source = api.source(sticky=True)
    api.weights(source["id"], {anna["id"]: 10})
    first = api.appeal(source["id"], lead_external_id="tg:returning")
    api.post(f"/appeals/{first['id']}/close")
    # Boris now carries almost all the weight: only stickiness sends it to Anna.
    api.weights(source["id"], {anna["id"]: 1, boris["id"]: 100})

    again = api.appeal(source["id"], lead_external_id="tg:returning")

    assert again["operator"]["id"] == anna["id"]
    decision = api.get(f"/appeals/{again['id']}/history").body["events"][-1]["decision"]
    assert decision["sticky"] is True and decision["draw"] is None


def test_GIVEN_the_last_operator_is_offline_WHEN_the_lead_returns_THEN_normal_distribution_picks(api: Api) -> None:
    anna, boris = api.operator("Anna"), api.operator("Boris")
    source = api.source(sticky=True)
    api.weights(source["id"], {anna["id"]: 10})
    first = api.appeal(source["id"], lead_external_id="tg:returning")
    api.post(f"/appeals/{first['id']}/close")
    api.weights(source["id"], {anna["id"]: 10, boris["id"]: 10})
    api.patch(f"/operators/{anna['id']}", {"is_active": False})

    again = api.appeal(source["id"], lead_external_id="tg:returning")

    assert again["operator"]["id"] == boris["id"]
    decision = api.get(f"/appeals/{again['id']}/history").body["events"][-1]["decision"]
    assert decision["sticky"] is False and decision["draw"] is not None


def test_GIVEN_a_lead_served_on_another_source_WHEN_it_writes_on_a_sticky_one_THEN_that_operator_is_preferred(
    api: Api,
) -> None:
    anna, boris = api.operator("Anna"), api.operator("Boris")
    web, telegram = api.source("Web form"), api.source("Telegram", sticky=True)
    api.weights(web["id"], {anna["id"]: 10})
    api.weights(telegram["id"], {anna["id"]: 1, boris["id"]: 100})
    api.appeal(web["id"], lead_external_id="tg:cross")

    on_telegram = api.appeal(telegram["id"], lead_external_id="tg:cross")

    assert on_telegram["operator"]["id"] == anna["id"]


def test_GIVEN_an_open_appeal_on_a_sticky_source_WHEN_the_lead_writes_again_THEN_the_message_attaches_to_it(
    api: Api,
) -> None:
    anna = api.operator("Anna")
    source = api.source(sticky=True)
    api.weights(source["id"], {anna["id"]: 10})
    first = api.appeal(source["id"], lead_external_id="tg:chatty")

    follow_up = api.post("/appeals", appeal_body(source["id"], lead_external_id="tg:chatty", message_id="m-2"))
    redelivered = api.post("/appeals", appeal_body(source["id"], lead_external_id="tg:chatty", message_id="m-2"))

    assert follow_up.status == 200 and follow_up.body["id"] == first["id"]
    assert follow_up.body["message_count"] == 2
    assert follow_up.body["last_message_at"] >= first["last_message_at"]
    assert redelivered.status == 200 and redelivered.body["message_count"] == 2
    assert api.get(f"/operators/{anna['id']}").body["current_load"] == 1
    assert api.caught_up().get("/stats/distribution").body["items"][0]["total_appeals"] == 1


def test_GIVEN_the_open_appeal_was_closed_WHEN_the_lead_writes_again_THEN_a_new_appeal_opens(api: Api) -> None:
    anna = api.operator("Anna")
    source = api.source(sticky=True)
    api.weights(source["id"], {anna["id"]: 10})
    first = api.appeal(source["id"], lead_external_id="tg:back")
    api.post(f"/appeals/{first['id']}/close")

    reply = api.post("/appeals", appeal_body(source["id"], lead_external_id="tg:back"))

    assert reply.status == 201 and reply.body["id"] != first["id"]
    assert reply.body["message_count"] == 1


def test_GIVEN_a_waiting_appeal_on_a_sticky_source_WHEN_the_lead_writes_again_THEN_it_attaches_and_keeps_its_place(
    api: Api,
) -> None:
    anna = api.operator("Anna", max_load=0)
    source = api.source(sticky=True)
    api.weights(source["id"], {anna["id"]: 10})
    first = api.appeal(source["id"], lead_external_id="tg:patient")

    reply = api.post("/appeals", appeal_body(source["id"], lead_external_id="tg:patient"))

    assert reply.status == 200 and reply.body["id"] == first["id"] and reply.body["status"] == "waiting"
    assert api.caught_up().get("/stats/distribution").body["items"][0]["waiting_now"] == 1


def test_GIVEN_a_source_that_is_not_sticky_WHEN_the_lead_writes_twice_THEN_two_appeals_open(api: Api) -> None:
    anna = api.operator("Anna")
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    first = api.appeal(source["id"], lead_external_id="tg:plain")

    second = api.appeal(source["id"], lead_external_id="tg:plain")

    assert second["id"] != first["id"]
    assert api.get(f"/operators/{anna['id']}").body["current_load"] == 2


def test_GIVEN_a_source_WHEN_sticky_and_sla_are_patched_THEN_they_read_back_and_null_clears_the_sla(api: Api) -> None:
    source = api.source()
    assert (source["sticky"], source["response_sla_seconds"]) == (False, None)

    patched = api.patch(f"/sources/{source['id']}", {"sticky": True, "response_sla_seconds": 300})
    cleared = api.patch(f"/sources/{source['id']}", {"response_sla_seconds": None})
    too_short = api.patch(f"/sources/{source['id']}", {"response_sla_seconds": 5})

    assert (patched.body["sticky"], patched.body["response_sla_seconds"]) == (True, 300)
    assert (cleared.body["sticky"], cleared.body["response_sla_seconds"]) == (True, None)
    assert too_short.status == 422 and too_short.body["errors"][0]["loc"] == ["body", "response_sla_seconds"]


def test_GIVEN_a_follow_up_whose_appeal_has_closed_WHEN_it_is_redelivered_THEN_no_second_appeal_opens(
    api: Api,
) -> None:
    anna = api.operator("Anna")
    source = api.source(sticky=True)
    api.weights(source["id"], {anna["id"]: 10})
    first = api.appeal(source["id"], lead_external_id="tg:late")
    api.post("/appeals", appeal_body(source["id"], lead_external_id="tg:late", message_id="m-late"))
    api.post(f"/appeals/{first['id']}/close")

    redelivered = api.post("/appeals", appeal_body(source["id"], lead_external_id="tg:late", message_id="m-late"))

    assert redelivered.status == 200 and redelivered.body["id"] == first["id"]
    assert redelivered.body["message_count"] == 2
    assert api.caught_up().get("/stats/distribution").body["items"][0]["total_appeals"] == 1
