from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support import Api


def test_GIVEN_a_name_WHEN_creating_an_operator_THEN_defaults_apply_and_load_is_zero(api: Api) -> None:
    reply = api.post("/operators", {"name": "Anna"})

    assert reply.status == 201
    assert reply.body["name"] == "Anna"
    assert reply.body["is_active"] is True
    assert reply.body["max_load"] == 10
    assert reply.body["current_load"] == 0
    assert reply.body["created_at"].endswith("Z")
    assert api.get(f"/operators/{reply.body['id']}").body == reply.body


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": ""}, "body.name"),
        ({"name": "   "}, "body.name"),
        ({"name": "x" * 201}, "body.name"),
        ({"name": "Anna", "max_load": -1}, "body.max_load"),
        ({"name": "Anna", "max_load": 1001}, "body.max_load"),
        ({"name": "Anna", "max_load": "5"}, "body.max_load"),
        ({"name": "Anna", "is_active": "yes"}, "body.is_active"),
        ({"name": "Anna", "role": "admin"}, "body.role"),
        ({}, "body.name"),
    ],
)
def test_GIVEN_an_invalid_operator_WHEN_creating_THEN_422_names_the_field(api: Api, body: dict, path: str) -> None:
    reply = api.post("/operators", body)

    assert reply.status == 422
    assert reply.body["error"] == "validation_error"
    assert path in [error["path"] for error in reply.body["errors"]]


@pytest.mark.parametrize("raw", ["{", "not json", "[1,", '{"name": "Anna",}'])
def test_GIVEN_malformed_json_WHEN_posting_THEN_400_and_nothing_created(api: Api, raw: str) -> None:
    reply = api.post("/operators", raw=raw)

    assert reply.status == 400
    assert reply.body["error"] == "malformed_request"
    assert api.get("/operators").body["items"] == []


def test_GIVEN_no_body_WHEN_posting_THEN_400(api: Api) -> None:
    assert api.post("/operators").status == 400


def test_GIVEN_a_json_array_WHEN_an_object_is_expected_THEN_422(api: Api) -> None:
    reply = api.post("/operators", [{"name": "Anna"}])

    assert reply.status == 422
    assert reply.body["errors"][0]["path"] == "body"


@pytest.mark.parametrize(
    "operator_id",
    [
        "op_0000000000000000000000ff",
        "garbage",
        "op_UPPER_CASE_1234567890",
        "ld_0000000000000000000000ff",
        "x" * 3000,
        "%00",
    ],
)
def test_GIVEN_an_unknown_id_WHEN_reading_THEN_404(api: Api, operator_id: str) -> None:
    reply = api.get(f"/operators/{operator_id}")

    assert reply.status == 404
    assert reply.body["error"] == "not_found"


def test_GIVEN_an_operator_WHEN_patching_one_field_THEN_only_that_field_changes(api: Api) -> None:
    operator = api.operator("Anna", max_load=3)

    reply = api.patch(f"/operators/{operator['id']}", {"is_active": False})

    assert reply.status == 200
    assert reply.body["is_active"] is False
    assert reply.body["name"] == "Anna"
    assert reply.body["max_load"] == 3
    assert reply.body["updated_at"] > operator["updated_at"]
    assert api.get(f"/operators/{operator['id']}").body == reply.body


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "body"),
        ({"name": None}, "body.name"),
        ({"max_load": None}, "body.max_load"),
        ({"max_load": 5000}, "body.max_load"),
        ({"load": 1}, "body.load"),
    ],
)
def test_GIVEN_a_bad_patch_WHEN_patching_THEN_422(api: Api, body: dict, path: str) -> None:
    operator = api.operator("Anna")

    reply = api.patch(f"/operators/{operator['id']}", body)

    assert reply.status == 422
    assert path in [error["path"] for error in reply.body["errors"]]


def test_GIVEN_an_unknown_operator_WHEN_patching_THEN_404_and_nothing_is_created(api: Api) -> None:
    reply = api.patch("/operators/op_0000000000000000000000ff", {"name": "Ghost"})

    assert reply.status == 404
    assert api.get("/operators/op_0000000000000000000000ff").status == 404


def test_GIVEN_many_operators_WHEN_listing_by_pages_THEN_each_appears_once_newest_first(api: Api) -> None:
    created = [api.operator(f"Operator {i}")["id"] for i in range(7)]

    seen, cursor, pages = [], None, 0
    while True:
        reply = api.get("/operators?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        assert reply.status == 200
        seen += [item["id"] for item in reply.body["items"]]
        pages += 1
        cursor = reply.body["next"]
        if cursor is None:
            break

    assert seen == list(reversed(created))
    assert pages == 3


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=ten", "cursor=", "bogus=1"])
def test_GIVEN_bad_paging_parameters_WHEN_listing_THEN_422(api: Api, query: str) -> None:
    assert api.get(f"/operators?{query}").status == 422


@pytest.mark.parametrize("cursor", ["abc", "eyJrIjoxfQ", "eyJrIjp7ImEiOnsiUyI6IngifX19"])
def test_GIVEN_a_cursor_that_is_not_ours_WHEN_listing_THEN_400(api: Api, cursor: str) -> None:
    reply = api.get(f"/operators?cursor={cursor}")

    assert reply.status == 400
    assert "cursor" in reply.body["message"]


def test_GIVEN_an_operator_with_appeals_WHEN_listing_by_status_THEN_newest_first_per_status(api: Api) -> None:
    operator = api.operator("Anna", max_load=10)
    source = api.source()
    api.weights(source["id"], {operator["id"]: 10})
    appeals = [api.appeal(source["id"])["id"] for _ in range(4)]
    api.post(f"/appeals/{appeals[0]}/close")
    api.post(f"/appeals/{appeals[2]}/close")

    active = api.get(f"/operators/{operator['id']}/appeals?status=active").body
    closed = api.get(f"/operators/{operator['id']}/appeals?status=closed").body
    everything = api.get(f"/operators/{operator['id']}/appeals").body

    assert [a["id"] for a in active["items"]] == [appeals[3], appeals[1]]
    assert [a["id"] for a in closed["items"]] == [appeals[2], appeals[0]]
    assert [a["id"] for a in everything["items"]] == [appeals[3], appeals[1], appeals[2], appeals[0]]
    assert {a["status"] for a in active["items"]} == {"active"}


def test_GIVEN_no_status_filter_WHEN_paging_operator_appeals_THEN_pages_cross_from_active_to_closed(api: Api) -> None:
    operator = api.operator("Anna", max_load=10)
    source = api.source()
    api.weights(source["id"], {operator["id"]: 10})
    appeals = [api.appeal(source["id"])["id"] for _ in range(5)]
    for appeal_id in appeals[:2]:
        api.post(f"/appeals/{appeal_id}/close")

    seen, cursor = [], None
    while True:
        body = api.get(f"/operators/{operator['id']}/appeals?limit=2" + (f"&cursor={cursor}" if cursor else "")).body
        seen += [item["id"] for item in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break

    assert seen == [appeals[4], appeals[3], appeals[2], appeals[1], appeals[0]]


def test_GIVEN_a_bad_status_WHEN_listing_operator_appeals_THEN_422(api: Api) -> None:
    operator = api.operator("Anna")

    reply = api.get(f"/operators/{operator['id']}/appeals?status=lost")

    assert reply.status == 422
    assert reply.body["errors"][0]["path"] == "query.status"


def test_GIVEN_an_unknown_operator_WHEN_listing_its_appeals_THEN_404(api: Api) -> None:
    assert api.get("/operators/op_0000000000000000000000ff/appeals").status == 404


def test_GIVEN_a_body_with_many_unknown_fields_WHEN_posting_THEN_the_error_list_is_capped(api: Api) -> None:
    reply = api.post("/operators", {"name": "Anna", **{f"field_{i}": i for i in range(50)}})

    assert reply.status == 422
    assert len(reply.body["errors"]) == 20
    assert reply.body["more_errors"] == 30
