from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support import Api


def test_GIVEN_a_name_WHEN_creating_a_source_THEN_weighted_is_the_default_strategy(api: Api) -> None:
    reply = api.post("/sources", {"name": "Telegram Bot", "description": "Main bot"})

    assert reply.status == 201
    assert reply.body["strategy"] == "weighted"
    assert reply.body["description"] == "Main bot"
    assert api.get(f"/sources/{reply.body['id']}").body == reply.body


def test_GIVEN_weighted_capacity_WHEN_creating_a_source_THEN_it_is_kept(api: Api) -> None:
    source = api.source(strategy="weighted_capacity")

    assert api.get(f"/sources/{source['id']}").body["strategy"] == "weighted_capacity"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "Bot", "strategy": "round_robin"}, "body.strategy"),
        ({"name": ""}, "body.name"),
        ({"name": "Bot", "description": "x" * 2001}, "body.description"),
        ({"name": "Bot", "owner": "me"}, "body.owner"),
    ],
)
def test_GIVEN_an_invalid_source_WHEN_creating_THEN_422(api: Api, body: dict, path: str) -> None:
    reply = api.post("/sources", body)

    assert reply.status == 422
    assert path in [error["path"] for error in reply.body["errors"]]


def test_GIVEN_a_source_WHEN_patching_THEN_changes_apply_and_description_can_be_cleared(api: Api) -> None:
    source = api.source(description="old")

    renamed = api.patch(f"/sources/{source['id']}", {"name": "WhatsApp", "strategy": "weighted_capacity"})
    cleared = api.patch(f"/sources/{source['id']}", {"description": None})

    assert renamed.status == 200
    assert renamed.body["name"] == "WhatsApp"
    assert renamed.body["strategy"] == "weighted_capacity"
    assert cleared.body["description"] is None
    assert cleared.body["name"] == "WhatsApp"


def test_GIVEN_unknown_sources_WHEN_addressed_THEN_404(api: Api) -> None:
    for path in ["/sources/src_00000000000000000000ff", "/sources/nope", "/sources/nope/weights"]:
        assert api.get(path).status == 404
    assert api.patch("/sources/src_00000000000000000000ff", {"name": "x"}).status == 404
    assert api.put("/sources/src_00000000000000000000ff/weights", []).status == 404


def test_GIVEN_sources_WHEN_listing_THEN_newest_first(api: Api) -> None:
    first, second = api.source("A"), api.source("B")

    items = api.get("/sources").body["items"]

    assert [item["id"] for item in items] == [second["id"], first["id"]]


def test_GIVEN_operators_WHEN_putting_weights_THEN_the_set_and_shares_come_back(api: Api) -> None:
    anna, boris = api.operator("Anna"), api.operator("Boris")
    source = api.source()

    reply = api.put(
        f"/sources/{source['id']}/weights",
        [{"operator_id": anna["id"], "weight": 10}, {"operator_id": boris["id"], "weight": 30}],
    )

    assert reply.status == 200
    expected = [
        {"operator_id": boris["id"], "operator_name": "Boris", "weight": 30, "share": 0.75},
        {"operator_id": anna["id"], "operator_name": "Anna", "weight": 10, "share": 0.25},
    ]
    assert reply.body["items"] == expected
    assert api.get(f"/sources/{source['id']}/weights").body["items"] == expected


def test_GIVEN_a_weight_set_WHEN_replacing_it_THEN_operators_left_out_are_removed(api: Api) -> None:
    anna, boris, carl = api.operator("Anna"), api.operator("Boris"), api.operator("Carl")
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10, boris["id"]: 30})

    api.weights(source["id"], {boris["id"]: 5, carl["id"]: 15})

    items = api.get(f"/sources/{source['id']}/weights").body["items"]
    assert {(item["operator_id"], item["weight"]) for item in items} == {(boris["id"], 5), (carl["id"], 15)}


def test_GIVEN_an_empty_weight_set_WHEN_putting_THEN_the_source_has_no_operators(api: Api) -> None:
    anna = api.operator("Anna")
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})

    reply = api.put(f"/sources/{source['id']}/weights", [])

    assert reply.status == 200
    assert reply.body["items"] == []


def test_GIVEN_an_unknown_operator_WHEN_putting_weights_THEN_404_and_the_set_is_unchanged(api: Api) -> None:
    anna = api.operator("Anna")
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})

    reply = api.put(
        f"/sources/{source['id']}/weights",
        [{"operator_id": anna["id"], "weight": 50}, {"operator_id": "op_0000000000000000000000ff", "weight": 1}],
    )

    assert reply.status == 404
    assert "op_0000000000000000000000ff" in reply.body["message"]
    assert api.get(f"/sources/{source['id']}/weights").body["items"][0]["weight"] == 10


def test_GIVEN_a_repeated_operator_WHEN_putting_weights_THEN_422_points_at_the_repeat(api: Api) -> None:
    anna = api.operator("Anna")
    source = api.source()

    reply = api.put(
        f"/sources/{source['id']}/weights",
        [{"operator_id": anna["id"], "weight": 10}, {"operator_id": anna["id"], "weight": 20}],
    )

    assert reply.status == 422
    assert [error["path"] for error in reply.body["errors"]] == ["body.1.operator_id"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ([{"operator_id": "op_x", "weight": 0}], "body.0.weight"),
        ([{"operator_id": "op_x", "weight": 101}], "body.0.weight"),
        ([{"operator_id": "op_x", "weight": 1.5}], "body.0.weight"),
        ([{"operator_id": "op_x"}], "body.0.weight"),
        ({"operator_id": "op_x", "weight": 1}, "body"),
    ],
)
def test_GIVEN_invalid_weights_WHEN_putting_THEN_422_with_field_path(api: Api, body: object, path: str) -> None:
    source = api.source()

    reply = api.put(f"/sources/{source['id']}/weights", body)

    assert reply.status == 422
    assert path in [error["path"] for error in reply.body["errors"]]
