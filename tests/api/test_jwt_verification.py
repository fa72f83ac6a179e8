"""Bearer JWTs: only RS256 tokens from our issuer, for our audience, in date, with a role."""

from __future__ import annotations

import hmac
import http.server
import json
import threading
import time
from typing import TYPE_CHECKING

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chalicelib.access.authentication import authenticate
from chalicelib.access.tokens import NoRole, TokenRejected, jwt_settings, verify_jwt
from scripts.local.dev_auth import AUDIENCE, ISSUER, DevKeys

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.support import Api


@pytest.fixture
def keys(dev_keys: DevKeys, monkeypatch: pytest.MonkeyPatch) -> DevKeys:
    for name, value in dev_keys.environment().items():
        monkeypatch.setenv(name, value)
    return dev_keys


def test_GIVEN_cognito_shaped_tokens_WHEN_verified_THEN_the_role_comes_from_groups_and_the_operator_from_the_binding(
    keys: DevKeys, api: Api
) -> None:
    anna = api.operator("Anna", auth_subject="u-1")

    operator = verify_jwt(keys.token("operator", subject="u-1"))
    admin = verify_jwt(keys.token("admin", subject="u-2", **{"cognito:groups": ["operator", "admin"]}))

    assert (operator.role, operator.operator_id, operator.subject) == ("operator", anna["id"], "u-1")
    assert (admin.role, admin.subject) == ("admin", "u-2")


def test_GIVEN_a_user_who_rewrote_custom_operator_id_WHEN_verified_THEN_the_server_binding_wins(
    keys: DevKeys, api: Api
) -> None:
    anna, boris = api.operator("Anna", auth_subject="u-anna"), api.operator("Boris", auth_subject="u-boris")

    claims_boris = verify_jwt(keys.token("operator", boris["id"], subject="u-anna"))

    assert claims_boris.operator_id == anna["id"]
    with pytest.raises(NoRole):  # a person bound to no operator is none, whatever the token says
        verify_jwt(keys.token("operator", boris["id"], subject="u-stranger"))


def test_GIVEN_an_access_token_WHEN_it_carries_client_id_instead_of_aud_THEN_it_is_accepted(keys: DevKeys) -> None:
    payload = jwt.decode(keys.token("admin"), options={"verify_signature": False})
    del payload["aud"]
    payload.update(client_id=AUDIENCE, token_use="access")
    token = jwt.encode(payload, keys.private_key, algorithm="RS256", headers={"kid": "leadcrm-dev-1"})

    assert verify_jwt(token).role == "admin"


@pytest.mark.parametrize(
    ("label", "claims"),
    [
        ("wrong issuer", {"iss": "https://cognito-idp.us-east-1.amazonaws.com/someone-else"}),
        ("wrong audience", {"aud": "another-app"}),
        ("not yet valid", {"nbf": int(time.time()) + 3600}),
        ("no expiry", {"exp": None}),
        ("no subject", {"sub": None}),
        ("refresh-like use", {"token_use": "refresh"}),
    ],
)
def test_GIVEN_a_token_with_a_bad_claim_WHEN_verified_THEN_rejected(
    keys: DevKeys, label: str, claims: dict[str, object]
) -> None:
    payload = jwt.decode(keys.token("admin"), options={"verify_signature": False})
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    token = jwt.encode(payload, keys.private_key, algorithm="RS256", headers={"kid": "leadcrm-dev-1"})

    with pytest.raises(TokenRejected):
        verify_jwt(token)


def test_GIVEN_tokens_signed_another_way_WHEN_verified_THEN_alg_none_and_hs256_with_the_public_key_are_rejected(
    keys: DevKeys,
) -> None:
    payload = jwt.decode(keys.token("admin"), options={"verify_signature": False})
    unsigned = jwt.encode(payload, key=None, algorithm="none", headers={"kid": "leadcrm-dev-1"})
    # The classic confusion: HS256 "signed" with the public key, which anyone can read.
    # PyJWT refuses to produce it, so it is put together by hand.
    public_pem = keys.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    encode = jwt.utils.base64url_encode
    signing_input = b".".join(
        encode(json.dumps(part).encode()) for part in ({"alg": "HS256", "typ": "JWT", "kid": "leadcrm-dev-1"}, payload)
    )
    confused = (signing_input + b"." + encode(hmac.digest(public_pem, signing_input, "sha256"))).decode()

    for token in (unsigned, confused):
        with pytest.raises(TokenRejected):
            verify_jwt(token)


def test_GIVEN_tokens_without_a_usable_role_WHEN_verified_THEN_no_role_not_a_401(keys: DevKeys, tables: None) -> None:
    with pytest.raises(NoRole):
        verify_jwt(keys.token("visitor"))
    with pytest.raises(NoRole):
        verify_jwt(keys.token("operator"))  # bound to no operator


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer x.y.z", "Token abc"])
def test_GIVEN_a_malformed_authorization_header_WHEN_authenticated_THEN_rejected(
    keys: DevKeys, tables: None, header: str | None
) -> None:
    with pytest.raises(TokenRejected):
        authenticate(header)


@pytest.fixture
def jwks_server(dev_keys: DevKeys) -> Iterator[str]:
    document = json.dumps(dev_keys.jwks()).encode()
    fetched: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_GIVEN_an_issuer_url_WHEN_no_key_file_is_set_THEN_keys_come_from_its_well_known_jwks_like_cognito(
    dev_keys: DevKeys, jwks_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JWT_JWKS_FILE", raising=False)
    monkeypatch.setenv("JWT_ISSUER", jwks_server)
    monkeypatch.setenv("JWT_AUDIENCE", AUDIENCE)
    assert jwt_settings().jwks_url == f"{jwks_server}/.well-known/jwks.json"

    principal = verify_jwt(dev_keys.token("admin", iss=jwks_server))
    assert principal.role == "admin"
    with pytest.raises(TokenRejected):
        verify_jwt(dev_keys.token("admin"))  # the dev issuer is not this one
    assert jwks_server != ISSUER
