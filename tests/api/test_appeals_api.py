from __future__ import annotations

from typing import Any

import pytest

from chalicelib.models import Operator
from tests.support import Api, appeal_body, before_transaction


def load_of(api: Api, operator_id: str) -> int:
    return api.get(f"/operators/{operator_id}").body["current_load"]


@pytest.fixture
def routed(api: Api) -> dict[str, Any]:
    """A Telegram source served by Anna (weight 10) and Boris (weight 30)."""
    anna, boris = api.operator("Anna", max_load=5), api.operator("Boris", max_load=5)
    source = api.source("Telegram Bot")
    api.weights(source["id"], {anna["id"]: 10, boris["id"]: 30})
    return {"source": source, "anna": anna, "boris": boris}


def test_GIVEN_a_free_operator_WHEN_an_appeal_arrives_THEN_it_is_assigned_and_counted(api: Api, routed: dict) -> None:
    reply = api.post("/appeals", appeal_body(routed["source"]["id"], lead_name="Ivan", message="Need a quote"))

    assert reply.status == 201
    appeal = reply.body
    assert appeal["status"] == "active"
    assert appeal["operator"]["id"] in {routed["anna"]["id"], routed["boris"]["id"]}
    assert appeal["assigned_at"] == appeal["created_at"]
    assert appeal["closed_at"] is None
    assert appeal["message"] == "Need a quote"
    assert load_of(api, appeal["operator"]["id"]) == 1
    assert api.get(f"/appeals/{appeal['id']}").body == appeal


def test_GIVEN_nobody_serves_the_source_WHEN_an_appeal_arrives_THEN_it_waits(api: Api) -> None:
    source = api.source()

    appeal = api.appeal(source["id"])

    assert appeal["status"] == "waiting"
    assert appeal["operator"] is None
    assert appeal["assigned_at"] is None


def test_GIVEN_the_only_operator_is_inactive_WHEN_appeals_arrive_THEN_it_never_gets_one(api: Api) -> None:
    sleeper = api.operator("Sleeper", is_active=False)
    source = api.source()
    api.weights(source["id"], {sleeper["id"]: 100})

    statuses = {api.appeal(source["id"])["status"] for _ in range(5)}

    assert statuses == {"waiting"}
    assert load_of(api, sleeper["id"]) == 0


def test_GIVEN_an_operator_without_weight_for_the_source_WHEN_appeals_arrive_THEN_it_never_gets_one(api: Api) -> None:
    other = api.operator("Other source only")
    mine, theirs = api.source("Mine"), api.source("Theirs")
    api.weights(theirs["id"], {other["id"]: 10})

    statuses = {api.appeal(mine["id"])["status"] for _ in range(5)}

    assert statuses == {"waiting"}
    assert load_of(api, other["id"]) == 0


def test_GIVEN_operators_at_their_limit_WHEN_more_appeals_arrive_THEN_they_wait(api: Api, routed: dict) -> None:
    appeals = [api.appeal(routed["source"]["id"]) for _ in range(12)]

    assert [a["status"] for a in appeals].count("active") == 10
    assert [a["status"] for a in appeals].count("waiting") == 2
    assert load_of(api, routed["anna"]["id"]) == 5
    assert load_of(api, routed["boris"]["id"]) == 5


def test_GIVEN_a_zero_limit_WHEN_appeals_arrive_THEN_that_operator_gets_none(api: Api, routed: dict) -> None:
    api.patch(f"/operators/{routed['boris']['id']}", {"max_load": 0})

    owners = {api.appeal(routed["source"]["id"])["operator"]["id"] for _ in range(5)}

    assert owners == {routed["anna"]["id"]}
    assert load_of(api, routed["boris"]["id"]) == 0


def test_GIVEN_a_limit_lowered_below_the_load_WHEN_appeals_arrive_THEN_the_operator_keeps_its_load_and_gets_nothing(
    api: Api, routed: dict
) -> None:
    api.patch(f"/operators/{routed['anna']['id']}", {"max_load": 0})
    for _ in range(3):
        api.appeal(routed["source"]["id"])
    boris_load = load_of(api, routed["boris"]["id"])

    lowered = api.patch(f"/operators/{routed['boris']['id']}", {"max_load": 1})
    later = api.appeal(routed["source"]["id"])

    assert lowered.status == 200
    assert lowered.body["current_load"] == boris_load == 3
    assert later["status"] == "waiting"


def test_GIVEN_the_same_message_id_WHEN_sent_again_THEN_200_with_the_first_appeal_and_no_second_assignment(
    api: Api, routed: dict
) -> None:
    body = appeal_body(routed["source"]["id"], message_id="tg-update-42")
    first = api.post("/appeals", body)
    loads = {name: load_of(api, routed[name]["id"]) for name in ("anna", "boris")}

    repeats = [api.post("/appeals", body) for _ in range(3)]

    assert first.status == 201
    assert [r.status for r in repeats] == [200, 200, 200]
    assert all(r.body == first.body for r in repeats)
    assert {name: load_of(api, routed[name]["id"]) for name in ("anna", "boris")} == loads
    lead = api.get(f"/leads/{first.body['lead_id']}").body
    assert lead["appeals_count"] == 1


def test_GIVEN_a_message_id_used_by_another_lead_WHEN_sent_THEN_409(api: Api, routed: dict) -> None:
    api.appeal(routed["source"]["id"], message_id="m-1", lead_external_id="tg:1")

    reply = api.post("/appeals", appeal_body(routed["source"]["id"], message_id="m-1", lead_external_id="tg:2"))

    assert reply.status == 409


def test_GIVEN_the_same_message_id_on_two_sources_WHEN_sent_THEN_two_appeals(api: Api, routed: dict) -> None:
    other = api.source("WhatsApp")

    first = api.appeal(routed["source"]["id"], message_id="1", lead_external_id="tg:7")
    second = api.appeal(other["id"], message_id="1", lead_external_id="tg:7")

    assert first["id"] != second["id"]


def test_GIVEN_one_person_on_two_channels_WHEN_they_write_THEN_one_lead_with_both_appeals(
    api: Api, routed: dict
) -> None:
    whatsapp = api.source("WhatsApp")
    first = api.appeal(routed["source"]["id"], lead_external_id="person-1", lead_name="Ivan")
    second = api.appeal(whatsapp["id"], lead_external_id="person-1", lead_phone="+79990001122")

    assert first["lead_id"] == second["lead_id"]
    lead = api.get(f"/leads/{first['lead_id']}").body
    assert lead["external_id"] == "person-1"
    assert lead["name"] == "Ivan"
    assert lead["phone"] == "+79990001122"
    assert lead["appeals_count"] == 2
    assert len(api.get("/leads").body["items"]) == 1
    listed = api.get(f"/leads/{lead['id']}/appeals").body["items"]
    assert [a["id"] for a in listed] == [second["id"], first["id"]]


def test_GIVEN_an_unknown_source_WHEN_an_appeal_arrives_THEN_404_and_no_lead_is_created(api: Api) -> None:
    for source_id in ["src_00000000000000000000ff", "not a source"]:
        reply = api.post("/appeals", appeal_body(source_id))
        assert reply.status == 404
    assert api.get("/leads").body["items"] == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"message": ""}, "body.message"),
        ({"message": "x" * 10_001}, "body.message"),
        ({"lead_external_id": ""}, "body.lead_external_id"),
        ({"lead_email": "x" * 300}, "body.lead_email"),
        ({"message_id": 42}, "body.message_id"),
        ({"priority": "high"}, "body.priority"),
    ],
)
def test_GIVEN_an_invalid_appeal_WHEN_posting_THEN_422_and_nothing_is_stored(
    api: Api, routed: dict, change: dict, path: str
) -> None:
    reply = api.post("/appeals", {**appeal_body(routed["source"]["id"]), **change})

    assert reply.status == 422
    assert path in [error["path"] for error in reply.body["errors"]]
    assert api.get("/leads").body["items"] == []


def test_GIVEN_an_active_appeal_WHEN_closed_THEN_the_operator_capacity_is_freed(api: Api, routed: dict) -> None:
    appeal = api.appeal(routed["source"]["id"])
    owner = appeal["operator"]["id"]

    reply = api.post(f"/appeals/{appeal['id']}/close")

    assert reply.status == 200
    assert reply.body["status"] == "closed"
    assert reply.body["closed_at"] is not None
    assert reply.body["operator"]["id"] == owner
    assert load_of(api, owner) == 0
    assert api.get(f"/appeals/{appeal['id']}").body == reply.body


def test_GIVEN_a_closed_appeal_WHEN_closed_again_THEN_409_and_load_is_not_released_twice(
    api: Api, routed: dict
) -> None:
    first, second = api.appeal(routed["source"]["id"]), api.appeal(routed["source"]["id"])
    api.post(f"/appeals/{first['id']}/close")
    loads = {name: load_of(api, routed[name]["id"]) for name in ("anna", "boris")}

    reply = api.post(f"/appeals/{first['id']}/close")

    assert reply.status == 409
    assert reply.body["error"] == "conflict"
    assert {name: load_of(api, routed[name]["id"]) for name in ("anna", "boris")} == loads
    assert sum(loads.values()) == 1
    assert second["status"] == "active"


def test_GIVEN_a_waiting_appeal_WHEN_closed_THEN_it_leaves_the_waiting_line(api: Api) -> None:
    source = api.source()
    appeal = api.appeal(source["id"])

    reply = api.post(f"/appeals/{appeal['id']}/close")

    assert reply.status == 200
    assert reply.body["status"] == "closed"
    stats = api.caught_up().get("/stats/distribution").body["items"][0]
    assert stats["waiting_now"] == 0
    assert stats["total_appeals"] == 1


@pytest.mark.parametrize("appeal_id", ["ap_0000000000000000000000ff", "garbage"])
def test_GIVEN_an_unknown_appeal_WHEN_read_or_closed_THEN_404(api: Api, appeal_id: str) -> None:
    assert api.get(f"/appeals/{appeal_id}").status == 404
    assert api.post(f"/appeals/{appeal_id}/close").status == 404


def test_GIVEN_appeals_assigned_and_closed_WHEN_done_THEN_each_load_equals_its_active_appeals(
    api: Api, routed: dict
) -> None:
    appeals = [api.appeal(routed["source"]["id"]) for _ in range(9)]
    for appeal in appeals[::2]:
        api.post(f"/appeals/{appeal['id']}/close")

    for name in ("anna", "boris"):
        operator_id = routed[name]["id"]
        active = api.get(f"/operators/{operator_id}/appeals?status=active").body["items"]
        assert load_of(api, operator_id) == len(active)


def test_GIVEN_the_drawn_operator_goes_offline_before_the_claim_WHEN_assigning_THEN_the_other_one_gets_it(
    api: Api, routed: dict
) -> None:
    """A lost race: the claim's condition fails, that candidate is dropped and the draw repeats."""
    intercepted: list[str] = []

    def deactivate_chosen(params: dict[str, Any]) -> None:
        if intercepted:
            return
        for item in params["TransactItems"]:
            update = item.get("Update", {})
            if update.get("TableName", "").endswith("-operators"):
                operator_id = update["Key"]["operator_id"]["S"]
                intercepted.append(operator_id)
                # Another writer flips the operator off between our read and our claim.
                Operator(operator_id).update(actions=[Operator.is_active.set(False)])

    with before_transaction(deactivate_chosen):
        appeal = api.appeal(routed["source"]["id"])

    assert len(intercepted) == 1
    assert appeal["status"] == "active"
    assert appeal["operator"]["id"] != intercepted[0]
    assert load_of(api, intercepted[0]) == 0
    assert load_of(api, appeal["operator"]["id"]) == 1
