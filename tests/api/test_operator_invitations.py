"""Inviting people through `POST /operators` with an `email`: moto's Cognito user pool in AWS
mode, the local issuer's stand-in without a pool; deactivation switches the login off."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest

from chalicelib.core.config import table_env_var
from chalicelib.core.errors import Conflict
from chalicelib.directory.operators import create_operator
from chalicelib.models.operators import operators_newest_first
from chalicelib.schemas.operators import OperatorCreate
from tests.log_capture import captured_logs

if TYPE_CHECKING:
    from scripts.local.dev_auth import DevKeys
    from tests.support import Api

EMAIL = "anna.invited@example.com"


def make_pool(groups: tuple[str, ...] = ("admin", "operator")) -> str:
    """A pool shaped as the template makes it: e-mail as the username, the operator attribute, both groups."""
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    pool_id = cognito.create_user_pool(
        PoolName="leadcrm-test",
        UsernameAttributes=["email"],
        Schema=[{"Name": "operator_id", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]["Id"]
    for group in groups:
        cognito.create_group(UserPoolId=pool_id, GroupName=group)
    return pool_id


@pytest.fixture
def pool(api: Api, monkeypatch: pytest.MonkeyPatch) -> str:
    pool_id = make_pool()
    monkeypatch.setenv("USER_POOL_ID", pool_id)
    return pool_id


def cognito_users(pool_id: str) -> list[dict[str, Any]]:
    return boto3.client("cognito-idp", region_name="us-east-1").list_users(UserPoolId=pool_id)["Users"]


def attributes(user: dict[str, Any]) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in user.get("Attributes", user.get("UserAttributes", []))}


def groups_of(pool_id: str, username: str) -> list[str]:
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    return [g["GroupName"] for g in cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=username)["Groups"]]


def login_enabled(pool_id: str, subject: str) -> bool:
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    return bool(cognito.admin_get_user(UserPoolId=pool_id, Username=subject)["Enabled"])


def operator_count(api: Api) -> int:
    return len(api.get("/operators").body["items"])


# --- Cognito ------------------------------------------------------------------


def test_GIVEN_a_pool_WHEN_inviting_an_operator_by_email_THEN_login_group_attribute_and_binding_are_made(
    api: Api, pool: str, dev_keys: DevKeys
) -> None:
    reply = api.post("/operators", {"name": "Anna", "email": EMAIL})

    assert reply.status == 201, reply.body
    operator = reply.body
    (user,) = cognito_users(pool)
    assert attributes(user)["email"] == EMAIL
    assert attributes(user)["custom:operator_id"] == operator["id"]
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"  # a temporary password went out by e-mail
    # Bound on the server: the new login's `sub` is this operator, nobody copies ids.
    assert operator["auth_subject"] == attributes(user)["sub"]
    assert groups_of(pool, user["Username"]) == ["operator"]
    assert "email" not in operator
    me = api.as_(dev_keys.token("operator", subject=operator["auth_subject"])).get("/me")
    assert me.status == 200
    assert me.body["operator"]["id"] == operator["id"]


def test_GIVEN_a_pool_WHEN_inviting_with_role_admin_THEN_the_login_joins_the_admin_group(api: Api, pool: str) -> None:
    reply = api.post("/operators", {"name": "Head", "email": "head@example.com", "role": "admin"})

    assert reply.status == 201, reply.body
    (user,) = cognito_users(pool)
    assert groups_of(pool, user["Username"]) == ["admin"]


def test_GIVEN_an_address_with_a_login_WHEN_inviting_it_again_THEN_409_and_no_second_operator(
    api: Api, pool: str
) -> None:
    assert api.post("/operators", {"name": "Anna", "email": EMAIL}).status == 201

    again = api.post("/operators", {"name": "Anna again", "email": EMAIL})

    assert again.status == 409
    assert operator_count(api) == 1
    assert len(cognito_users(pool)) == 1


def test_GIVEN_a_pool_without_the_group_WHEN_inviting_THEN_503_and_neither_login_nor_operator_remains(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool_id = make_pool(groups=("admin",))
    monkeypatch.setenv("USER_POOL_ID", pool_id)

    reply = api.post("/operators", {"name": "Anna", "email": EMAIL})

    assert reply.status == 503
    assert "nothing was created" in reply.body["message"]
    assert cognito_users(pool_id) == []
    assert operator_count(api) == 0


def test_GIVEN_the_operator_cannot_be_saved_WHEN_inviting_THEN_the_new_login_is_deleted_again(
    api: Api, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The operators table the function is told to use does not exist: the save fails after the invitation.
    monkeypatch.setenv(table_env_var("operators"), "leadcrm-dev-missing-operators")

    reply = api.post("/operators", {"name": "Anna", "email": EMAIL})

    assert reply.status == 500
    assert cognito_users(pool) == []


def test_GIVEN_an_invited_operator_WHEN_an_admin_deactivates_and_reactivates_it_THEN_the_login_follows(
    api: Api, pool: str
) -> None:
    operator = api.post("/operators", {"name": "Anna", "email": EMAIL}).body
    subject = operator["auth_subject"]

    off = api.patch(f"/operators/{operator['id']}", {"is_active": False})
    assert off.status == 200
    assert login_enabled(pool, subject) is False

    on = api.patch(f"/operators/{operator['id']}", {"is_active": True})
    assert on.status == 200
    assert login_enabled(pool, subject) is True


def test_GIVEN_an_invited_operator_WHEN_it_pauses_itself_THEN_its_login_stays_enabled(
    api: Api, pool: str, dev_keys: DevKeys
) -> None:
    operator = api.post("/operators", {"name": "Anna", "email": EMAIL}).body
    own = api.as_(dev_keys.token("operator", subject=operator["auth_subject"]))

    paused = own.patch("/me", {"is_active": False})

    assert paused.status == 200
    assert (paused.body["is_active"], paused.body["presence"]) == (True, "paused")
    assert login_enabled(pool, operator["auth_subject"]) is True


def test_GIVEN_the_pool_refuses_WHEN_an_admin_deactivates_THEN_503_and_the_operator_is_unchanged(
    api: Api, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = api.post("/operators", {"name": "Anna", "email": EMAIL}).body
    # The deployment now names a pool that does not exist (a wrong parameter): Cognito refuses.
    monkeypatch.setenv("USER_POOL_ID", "us-east-1_Missing00")

    reply = api.patch(f"/operators/{operator['id']}", {"is_active": False})

    assert reply.status == 503
    assert api.get(f"/operators/{operator['id']}").body["is_active"] is True


def test_GIVEN_an_operator_bound_by_hand_to_another_login_WHEN_deactivated_THEN_it_is_deactivated(
    api: Api, pool: str
) -> None:
    operator = api.operator("Boris", auth_subject="federated-user-1")

    reply = api.patch(f"/operators/{operator['id']}", {"is_active": False})

    assert reply.status == 200
    assert reply.body["is_active"] is False


def test_GIVEN_an_invitation_WHEN_logged_THEN_the_address_appears_nowhere(api: Api, pool: str) -> None:
    with captured_logs() as logs:
        reply = api.post("/operators", {"name": "Anna", "email": EMAIL})
        api.patch(f"/operators/{reply.body['id']}", {"is_active": False})

    assert reply.status == 201
    assert EMAIL not in logs.text()
    assert "anna.invited" not in logs.text()
    assert any(line.get("message") == "operator invited" for line in logs.app_lines())


# --- input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "Anna", "email": "not-an-address"}, "body.email"),
        ({"name": "Anna", "email": EMAIL, "role": "owner"}, "body.role"),
        ({"name": "Anna", "role": "admin"}, "body.role"),
        ({"name": "Anna", "email": EMAIL, "auth_subject": "someone"}, "body.email"),
    ],
)
def test_GIVEN_a_bad_invitation_WHEN_posting_THEN_422_names_the_field_and_nothing_is_made(
    api: Api, pool: str, body: dict[str, Any], path: str
) -> None:
    reply = api.post("/operators", body)

    assert reply.status == 422
    assert path in [error["path"] for error in reply.body["errors"]]
    assert cognito_users(pool) == []
    assert operator_count(api) == 0


def test_GIVEN_an_operator_token_WHEN_inviting_THEN_403_and_no_login(api: Api, pool: str, dev_keys: DevKeys) -> None:
    operator = api.operator("Anna", auth_subject="sub-anna")

    reply = api.as_(dev_keys.token("operator", subject=operator["auth_subject"])).post(
        "/operators", {"name": "Boris", "email": EMAIL}
    )

    assert reply.status == 403
    assert cognito_users(pool) == []


# --- no pool ----------------------------------------------------------------------


def test_GIVEN_the_local_issuer_WHEN_inviting_THEN_a_fresh_subject_is_bound_and_its_token_works(
    api: Api, dev_keys: DevKeys
) -> None:
    reply = api.post("/operators", {"name": "Anna", "email": EMAIL})

    assert reply.status == 201
    assert reply.body["auth_subject"].startswith("local-")
    me = api.as_(dev_keys.token("operator", subject=reply.body["auth_subject"])).get("/me")
    assert me.body["operator"]["id"] == reply.body["id"]


def test_GIVEN_neither_pool_nor_local_issuer_WHEN_inviting_THEN_conflict_and_no_operator(
    tables: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JWT_JWKS_FILE")
    monkeypatch.delenv("USER_POOL_ID", raising=False)

    with pytest.raises(Conflict, match="no user pool"):
        create_operator(OperatorCreate.model_validate({"name": "Anna", "email": EMAIL}))

    assert operators_newest_first(10, None)[0] == []
