"""Findings 4 and 5 (issue 20): who an operator is comes from the server's
binding of the token's `sub`, and a deactivated operator's token stops working."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.test import Client

from app import app
from chalicelib.models import count_requests
from tests.support import Api, operator_token

if TYPE_CHECKING:
    from scripts.local.dev_auth import DevKeys

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/GET/me"


def authorize(token: str) -> Any:
    with Client(app, stage_name="dev") as client:
        event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": ARN}
        return client.lambda_.invoke("authorize", event).payload


def test_GIVEN_an_operator_token_claiming_a_colleague_WHEN_calling_THEN_it_acts_as_its_bound_self(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, boris = api.operator("Anna"), api.operator("Boris")
    operator_token(dev_keys, anna["id"])
    forged = dev_keys.token("operator", boris["id"], subject=f"user-{anna['id']}")

    me = api.as_(forged).get("/me").body

    assert me["operator"]["id"] == anna["id"]


def test_GIVEN_an_operator_deactivated_WHEN_its_token_is_checked_again_THEN_the_authorizer_refuses_it(
    api: Api, dev_keys: DevKeys
) -> None:
    anna = api.operator("Anna")
    token = operator_token(dev_keys, anna["id"])
    assert authorize(token)["context"]["operator_id"] == anna["id"]

    assert api.patch(f"/operators/{anna['id']}", {"is_active": False}).status == 200

    assert api.as_(token).get("/me").status == 401
    assert api.patch(f"/operators/{anna['id']}", {"is_active": True}).status == 200
    assert api.as_(token).get("/me").status == 200


def test_GIVEN_an_operator_unbound_WHEN_its_token_is_used_THEN_403_everywhere(api: Api, dev_keys: DevKeys) -> None:
    anna = api.operator("Anna")
    token = operator_token(dev_keys, anna["id"])

    assert api.patch(f"/operators/{anna['id']}", {"auth_subject": None}).body["auth_subject"] is None

    assert api.as_(token).get("/me").status == 403


def test_GIVEN_the_authorizer_WHEN_checking_an_operator_token_THEN_one_query_of_the_keys_index(
    api: Api, dev_keys: DevKeys
) -> None:
    token = operator_token(dev_keys, api.operator("Anna")["id"])

    with count_requests() as counts:
        authorize(token)

    assert counts == {"Query": 1}
