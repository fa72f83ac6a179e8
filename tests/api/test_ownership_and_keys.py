"""Operators see and touch only their own appeals; bots post only to their own source."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import pytest
from chalice.local import ARNMatcher

from chalicelib.api.auth import authorize
from chalicelib.models import Source, count_requests
from tests.support import Api, appeal_body, operator_token

if TYPE_CHECKING:
    from scripts.local.dev_auth import DevKeys

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/{method}{path}"


@pytest.fixture
def floor(api: Api, dev_keys: DevKeys) -> dict[str, Any]:
    a, b, mine_source, their_source = api.two_teams()
    return {
        "a": a,
        "b": b,
        "source": mine_source,
        "other_source": their_source,
        "mine": api.appeal(mine_source["id"]),
        "theirs": api.appeal(their_source["id"]),
        "as_a": api.as_(operator_token(dev_keys, a["id"])),
    }


def test_GIVEN_operator_a_WHEN_touching_operator_bs_appeal_THEN_403_and_the_appeal_is_unchanged(
    api: Api, floor: dict[str, Any]
) -> None:
    as_a, theirs = floor["as_a"], floor["theirs"]

    assert as_a.get(f"/appeals/{theirs['id']}").status == 403
    assert as_a.get(f"/appeals/{theirs['id']}/history").status == 403
    assert as_a.post(f"/appeals/{theirs['id']}/accept", {"operator_id": floor["a"]["id"]}).status == 403
    assert as_a.post(f"/appeals/{theirs['id']}/accept", {"operator_id": floor["b"]["id"]}).status == 403
    assert as_a.post(f"/appeals/{theirs['id']}/close").status == 403
    # Not yours reads exactly like missing: no oracle for who is in the CRM.
    assert as_a.get(f"/leads/{theirs['lead_id']}").status == 404

    after = api.get(f"/appeals/{theirs['id']}").body
    assert (after["status"], after["accepted_at"], after["operator"]["id"]) == ("active", None, floor["b"]["id"])


def test_GIVEN_operator_a_WHEN_working_its_own_appeal_THEN_it_reads_accepts_closes_and_sees_the_lead(
    floor: dict[str, Any],
) -> None:
    as_a, mine = floor["as_a"], floor["mine"]

    assert as_a.get(f"/appeals/{mine['id']}").status == 200
    assert as_a.get(f"/leads/{mine['lead_id']}").body["id"] == mine["lead_id"]
    # Accepting in another operator's name is refused even on one's own appeal.
    assert as_a.post(f"/appeals/{mine['id']}/accept", {"operator_id": floor["b"]["id"]}).status == 403
    assert as_a.post(f"/appeals/{mine['id']}/accept", {"operator_id": floor["a"]["id"]}).body["accepted_at"]
    assert as_a.post(f"/appeals/{mine['id']}/close").body["status"] == "closed"


def test_GIVEN_an_operator_WHEN_asking_who_it_is_and_for_its_appeals_THEN_only_its_own_are_listed(
    floor: dict[str, Any],
) -> None:
    me = floor["as_a"].get("/me").body
    assert (me["role"], me["operator"]["id"], me["operator"]["name"]) == ("operator", floor["a"]["id"], "Anna")

    listed = floor["as_a"].get("/me/appeals").body["items"]
    assert [appeal["id"] for appeal in listed] == [floor["mine"]["id"]]


def test_GIVEN_a_waiting_appeal_WHEN_an_operator_closes_it_THEN_403_it_is_nobodys_yet(
    api: Api, floor: dict[str, Any]
) -> None:
    waiting = api.appeal(api.source("Empty line")["id"])
    assert waiting["status"] == "waiting"
    assert floor["as_a"].post(f"/appeals/{waiting['id']}/close").status == 403
    assert api.get(f"/appeals/{waiting['id']}").body["status"] == "waiting"


def test_GIVEN_a_bot_key_WHEN_posting_to_its_own_and_another_source_THEN_201_and_403_with_nothing_created(
    api: Api, floor: dict[str, Any]
) -> None:
    key = api.post(f"/sources/{floor['source']['id']}/keys", {}).body["api_key"]
    bot = api.as_(key)

    assert bot.post("/appeals", appeal_body(floor["source"]["id"])).status == 201
    elsewhere = appeal_body(floor["other_source"]["id"])
    refused = bot.post("/appeals", elsewhere)
    assert (refused.status, refused.body["error"]) == (403, "forbidden")
    assert api.get(f"/leads?external_id={elsewhere['lead_external_id']}").body["items"] == []
    assert bot.get(f"/appeals/{floor['mine']['id']}").status == 403


def test_GIVEN_a_rotated_key_WHEN_the_grace_period_is_zero_or_the_key_revoked_THEN_the_old_key_gets_401(
    api: Api, floor: dict[str, Any]
) -> None:
    source_id = floor["source"]["id"]
    first = api.post(f"/sources/{source_id}/keys", {}).body
    second = api.post(f"/sources/{source_id}/keys", {"previous_keys_valid_for_seconds": 3600}).body

    # Within the grace period both keys work, and the listing shows when the old one stops.
    assert api.as_(first["api_key"]).post("/appeals", appeal_body(source_id)).status == 201
    listed = {key["key_id"]: key for key in api.get(f"/sources/{source_id}/keys").body["keys"]}
    assert listed[first["key_id"]]["expires_at"] is not None and listed[second["key_id"]]["expires_at"] is None

    third = api.post(f"/sources/{source_id}/keys", {"previous_keys_valid_for_seconds": 0}).body
    assert api.as_(first["api_key"]).post("/appeals", appeal_body(source_id)).status == 401
    assert api.as_(second["api_key"]).post("/appeals", appeal_body(source_id)).status == 401
    assert api.as_(third["api_key"]).post("/appeals", appeal_body(source_id)).status == 201

    assert api.call("DELETE", f"/sources/{source_id}/keys/{third['key_id']}").status == 204
    assert api.as_(third["api_key"]).post("/appeals", appeal_body(source_id)).status == 401
    assert api.call("DELETE", f"/sources/{source_id}/keys/{third['key_id']}").status == 404


def test_GIVEN_an_issued_key_WHEN_reading_the_source_row_and_listings_THEN_only_its_hash_is_stored(
    api: Api, floor: dict[str, Any]
) -> None:
    issued = api.post(f"/sources/{floor['source']['id']}/keys", {}).body
    secret = issued["api_key"].rsplit(".", 1)[1]

    row = Source.get(floor["source"]["id"])
    assert [key.secret_hash for key in row.api_keys] == [hashlib.sha256(secret.encode()).hexdigest()]
    assert secret not in str(row.serialize())
    assert secret not in str(api.get(f"/sources/{floor['source']['id']}/keys").body)
    assert secret not in str(api.get(f"/sources/{floor['source']['id']}").body)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"previous_keys_valid_for_seconds": -1}, "previous_keys_valid_for_seconds"), ({"extra": 1}, "extra")],
)
def test_GIVEN_a_bad_rotation_body_WHEN_posted_THEN_422_names_the_field(
    api: Api, floor: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    reply = api.post(f"/sources/{floor['source']['id']}/keys", body)
    assert reply.status == 422 and reply.body["errors"][0]["loc"][-1] == field


def test_GIVEN_an_operator_token_WHEN_the_gateway_caches_its_policy_THEN_every_operator_route_and_no_admin_one(
    api: Api, dev_keys: DevKeys
) -> None:
    # API Gateway reuses one authorizer answer for every call with the same token, so the
    # policy must already allow every route the role may call, whichever route was first.
    anna = api.operator("Anna")["id"]
    token = operator_token(dev_keys, anna)
    first_call = ARN.format(method="GET", path="/me")
    policy = authorize({"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": first_call}, {})
    resources = policy["policyDocument"]["Statement"][0]["Resource"]

    def allowed(method: str, path: str) -> bool:
        return ARNMatcher(ARN.format(method=method, path=path)).does_any_resource_match(resources)

    assert policy["context"] == {"role": "operator", "subject": policy["principalId"], "operator_id": anna}
    for method, path in [
        ("GET", "/me"),
        ("GET", "/me/appeals"),
        ("GET", "/appeals/ap_1"),
        ("POST", "/appeals/ap_1/accept"),
        ("POST", "/appeals/ap_1/close"),
        ("GET", "/leads/ld_1"),
    ]:
        assert allowed(method, path), (method, path)
    for method, path in [
        ("POST", "/operators"),
        ("PUT", "/sources/src_1/weights"),
        ("GET", "/leads"),
        ("POST", "/appeals"),
    ]:
        assert not allowed(method, path), (method, path)
    assert policy["principalId"] == f"user-{anna}"


def test_GIVEN_a_genuine_token_without_a_role_WHEN_authorized_THEN_an_explicit_deny_of_the_whole_stage(
    tables: None, dev_keys: DevKeys
) -> None:
    arn = ARN.format(method="GET", path="/me")
    policy = authorize(
        {"type": "TOKEN", "authorizationToken": f"Bearer {dev_keys.token('visitor')}", "methodArn": arn}, {}
    )

    assert policy["policyDocument"]["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Deny",
            "Resource": ["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/*"],
        }
    ]


def test_GIVEN_a_bad_bot_key_WHEN_presented_again_THEN_it_is_refused_without_reading_the_database(
    api: Api, floor: dict[str, Any]
) -> None:
    bad = f"lcbot.{floor['source']['id']}.deadbeef.not-a-real-secret-at-all"
    with count_requests() as first:
        assert api.as_(bad).post("/appeals", appeal_body(floor["source"]["id"])).status == 401
    with count_requests() as again:
        assert api.as_(bad).post("/appeals", appeal_body(floor["source"]["id"])).status == 401

    assert first == {"GetItem": 1}
    assert again == {}
