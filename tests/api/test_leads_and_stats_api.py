from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support import Api


def test_GIVEN_leads_WHEN_listing_THEN_newest_first_and_paged(api: Api) -> None:
    source = api.source()
    lead_ids = [api.appeal(source["id"], lead_external_id=f"person-{i}")["lead_id"] for i in range(5)]

    first = api.get("/leads?limit=3").body
    second = api.get(f"/leads?limit=3&cursor={first['next']}").body

    assert [lead["id"] for lead in first["items"] + second["items"]] == list(reversed(lead_ids))
    assert second["next"] is None


def test_GIVEN_an_external_id_WHEN_searching_leads_THEN_exactly_that_lead(api: Api) -> None:
    source = api.source()
    api.appeal(source["id"], lead_external_id="wa:79990001122", lead_email="ivan@example.com")
    api.appeal(source["id"], lead_external_id="tg:5")

    found = api.get("/leads?external_id=wa:79990001122").body["items"]
    missing = api.get("/leads?external_id=nobody").body["items"]

    assert [lead["external_id"] for lead in found] == ["wa:79990001122"]
    assert found[0]["email"] == "ivan@example.com"
    assert missing == []


@pytest.mark.parametrize("lead_id", ["ld_0000000000000000000000ff", "whatever"])
def test_GIVEN_an_unknown_lead_WHEN_read_THEN_404(api: Api, lead_id: str) -> None:
    assert api.get(f"/leads/{lead_id}").status == 404
    assert api.get(f"/leads/{lead_id}/appeals").status == 404


def test_GIVEN_appeals_WHEN_reading_distribution_stats_THEN_counters_match_what_happened(api: Api) -> None:
    anna, boris = api.operator("Anna", max_load=2), api.operator("Boris", max_load=2)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10, boris["id"]: 30})
    appeals = [api.appeal(source["id"]) for _ in range(6)]
    api.post(f"/appeals/{appeals[0]['id']}/close")

    stats = api.caught_up().get("/stats/distribution").body["items"][0]

    assert stats["source_id"] == source["id"]
    assert stats["total_appeals"] == 6
    # The freed slot went straight to the oldest of the two waiting appeals.
    assert stats["waiting_now"] == 1
    by_id = {op["id"]: op for op in stats["operators"]}
    assert by_id[anna["id"]]["weight"] == 10
    assert by_id[anna["id"]]["target_share"] == 0.25
    assert by_id[boris["id"]]["target_share"] == 0.75
    closed_owner = appeals[0]["operator"]["id"]
    other = boris["id"] if closed_owner == anna["id"] else anna["id"]
    assert by_id[closed_owner]["assigned_total"] == 3
    assert by_id[other]["assigned_total"] == 2
    assert by_id[closed_owner]["actual_share"] == 0.6
    assert by_id[closed_owner]["active_now"] == 2
    assert sum(op["active_now"] for op in stats["operators"]) == 4


def test_GIVEN_an_operator_taken_off_a_source_WHEN_reading_stats_THEN_its_history_stays(api: Api) -> None:
    anna, boris = api.operator("Anna"), api.operator("Boris")
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    api.appeal(source["id"])
    api.weights(source["id"], {boris["id"]: 10})

    operators = {op["id"]: op for op in api.caught_up().get("/stats/distribution").body["items"][0]["operators"]}

    assert operators[anna["id"]]["weight"] == 0
    assert operators[anna["id"]]["assigned_total"] == 1
    assert operators[anna["id"]]["actual_share"] == 1.0
    assert operators[boris["id"]]["target_share"] == 1.0


def test_GIVEN_a_source_WHEN_reading_its_operators_THEN_availability_is_explained(api: Api) -> None:
    free, full, off = api.operator("Free"), api.operator("Full", max_load=0), api.operator("Off", is_active=False)
    source = api.source()
    api.weights(source["id"], {free["id"]: 30, full["id"]: 20, off["id"]: 10})

    body = api.get(f"/stats/sources/{source['id']}/operators").body

    assert body["source_id"] == source["id"]
    assert [(op["name"], op["weight"], op["is_available"]) for op in body["operators"]] == [
        ("Free", 30, True),
        ("Full", 20, False),
        ("Off", 10, False),
    ]
    assert body["operators"][2]["is_active"] is False


def test_GIVEN_an_unknown_source_WHEN_reading_its_operators_THEN_404(api: Api) -> None:
    assert api.get("/stats/sources/src_00000000000000000000ff/operators").status == 404


def test_GIVEN_the_service_WHEN_checking_health_THEN_ok(api: Api) -> None:
    reply = api.get("/health")

    assert reply.status == 200
    assert reply.body == {"status": "ok"}


def forge(key: dict, **state: str) -> str:
    raw = json.dumps({"k": key, **state}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_GIVEN_a_cursor_from_another_leads_appeals_WHEN_used_THEN_400_not_500(api: Api) -> None:
    source = api.source()
    appeals_of_a = [api.appeal(source["id"], lead_external_id="a") for _ in range(3)]
    a = appeals_of_a[0]["lead_id"]
    b = api.appeal(source["id"], lead_external_id="b")["lead_id"]
    cursor = api.get(f"/leads/{a}/appeals?limit=1").body["next"]

    reply = api.get(f"/leads/{b}/appeals?cursor={cursor}")

    assert cursor is not None
    assert reply.status == 400
    assert reply.body["error"] == "malformed_request"


def test_GIVEN_a_cursor_from_another_operators_appeals_WHEN_used_THEN_400_not_500(api: Api) -> None:
    anna, boris = api.operator("Anna"), api.operator("Boris")
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    for _ in range(3):
        api.appeal(source["id"])
    cursor = api.get(f"/operators/{anna['id']}/appeals?limit=1").body["next"]

    assert api.get(f"/operators/{boris['id']}/appeals?cursor={cursor}").status == 400
    closed_cursor_for_active = forge(
        {**json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["k"]}, phase="closed"
    )
    assert api.get(f"/operators/{anna['id']}/appeals?status=active&cursor={closed_cursor_for_active}").status == 400


@pytest.mark.parametrize(
    "key",
    [
        {"lead_id": {"S": "ld_x"}, "listed": {"S": "other"}, "created_at": {"S": "2026"}},
        {"lead_id": {"S": "ld_x"}, "listed": {"S": "all"}, "created_at": {"N": "1"}},
        {"lead_id": {"S": ""}, "listed": {"S": "all"}, "created_at": {"S": "2026"}},
    ],
)
def test_GIVEN_a_forged_cursor_WHEN_listing_leads_THEN_400_not_500(api: Api, key: dict) -> None:
    reply = api.get(f"/leads?cursor={forge(key)}")

    assert reply.status == 400
