"""Bearer JWT verification, the same code in AWS (Cognito) and locally (dev keys).

Settings are read from the environment at call time:
    JWT_ISSUER            required; Cognito: https://cognito-idp.<region>.amazonaws.com/<pool id>
    JWT_AUDIENCE          comma-separated app client ids; an ID token's `aud` or an
                          access token's `client_id` must be one of them (empty: not checked)
    JWT_JWKS_URL          default <issuer>/.well-known/jwks.json (Cognito's layout)
    JWT_JWKS_FILE         a JWKS document on disk instead of a URL (the dev stack, tests)
    JWT_ROLE_CLAIM        default cognito:groups (a list; "admin" wins over "operator")

Which operator a token is, is never read from the token: the operators
table binds the token's `sub` to one operator (`auth_subject`, looked up
through the `by_subject` index), and an operator that is deactivated or
bound to nobody is refused. A claim such as `custom:operator_id`, which a
Cognito user may be able to rewrite, is ignored.

Only RS256 is accepted: a token cannot pick a weaker algorithm (or "none").
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.access.principal import Principal
from chalicelib.models.operators import operator_signed_in_as

__all__ = ["AuthNotConfigured", "JwtSettings", "NoRole", "TokenRejected", "jwt_settings", "verify_jwt"]

if TYPE_CHECKING:
    # Imported where a token is verified: PyJWT loads `cryptography`, about
    # 40 ms of every function's cold start, and only the authorizer verifies.
    import jwt

ALGORITHMS = ["RS256"]
# Clock skew tolerated between Cognito, API Gateway and the function.
LEEWAY_SECONDS = 30
_USE = frozenset({"id", "access"})


class TokenRejected(Exception):
    """The token is missing, malformed, expired, tampered with or not for us (→ 401)."""


class NoRole(Exception):
    """A genuine token that grants no role of ours (→ 403)."""


class AuthNotConfigured(Exception):
    """JWT_ISSUER (or a key source) is missing: a deployment error, never the caller's."""


@dataclass(frozen=True)
class JwtSettings:
    issuer: str
    audiences: frozenset[str]
    jwks_url: str
    jwks_file: str | None
    role_claim: str


def jwt_settings() -> JwtSettings:
    issuer = os.environ.get("JWT_ISSUER", "").strip().rstrip("/")
    if not issuer:
        raise AuthNotConfigured("JWT_ISSUER is not set")
    return JwtSettings(
        issuer=issuer,
        audiences=frozenset(part.strip() for part in os.environ.get("JWT_AUDIENCE", "").split(",") if part.strip()),
        jwks_url=os.environ.get("JWT_JWKS_URL") or f"{issuer}/.well-known/jwks.json",
        jwks_file=os.environ.get("JWT_JWKS_FILE") or None,
        role_claim=os.environ.get("JWT_ROLE_CLAIM") or "cognito:groups",
    )


def verify_jwt(token: str, settings: JwtSettings | None = None) -> Principal:
    import jwt

    settings = settings or jwt_settings()
    try:
        key = _signing_key(token, settings)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            issuer=settings.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
        )
    except (jwt.PyJWTError, ValueError) as exc:
        # PyJWKClientError (keys unreachable) is a PyJWTError too, but it is ours, not the caller's.
        if isinstance(exc, jwt.PyJWKClientError) and "Unable to find a signing key" not in str(exc):
            raise
        raise TokenRejected(type(exc).__name__) from None
    _check_audience(claims, settings)
    if claims.get("token_use", "id") not in _USE:
        raise TokenRejected("token_use")
    return _principal(claims, settings)


def _check_audience(claims: dict[str, Any], settings: JwtSettings) -> None:
    if not settings.audiences:
        return
    # Cognito ID tokens carry `aud`; its access tokens carry `client_id` instead.
    audience = claims.get("aud") or claims.get("client_id")
    presented = {audience} if isinstance(audience, str) else set(audience or ())
    if not presented & settings.audiences:
        raise TokenRejected("audience")


def _principal(claims: dict[str, Any], settings: JwtSettings) -> Principal:
    groups = claims.get(settings.role_claim) or ()
    groups = {groups} if isinstance(groups, str) else set(groups)
    subject = str(claims["sub"])
    if "admin" in groups:
        return Principal(role="admin", subject=subject)
    if "operator" in groups:
        operator = operator_signed_in_as(subject)
        if operator is None:
            raise NoRole("no operator is bound to this user")
        if not operator.is_active and not operator.paused_by_self:
            # An admin deactivating an operator ends its access within the authorizer's cache time;
            # an operator that paused itself stays signed in, to see its work and resume.
            raise TokenRejected("operator deactivated")
        return Principal(role="operator", subject=subject, operator_id=operator.operator_id)
    raise NoRole("the token grants no role")


def _signing_key(token: str, settings: JwtSettings) -> Any:
    if settings.jwks_file:
        return _key_from_set(_jwks_from_file(settings.jwks_file, _mtime(settings.jwks_file)), token)
    return _jwks_client(settings.jwks_url).get_signing_key_from_jwt(token).key


def _key_from_set(keys: jwt.PyJWKSet, token: str) -> Any:
    import jwt

    kid = jwt.get_unverified_header(token).get("kid")
    for key in keys.keys:
        if key.key_id == kid:
            return key.key
    raise jwt.InvalidTokenError("no key with this kid")


def _mtime(path: str) -> float:
    try:
        return Path(path).stat().st_mtime
    except OSError as exc:
        raise AuthNotConfigured(f"JWT_JWKS_FILE {path!r} cannot be read") from exc


@lru_cache(maxsize=4)
def _jwks_from_file(path: str, mtime: float) -> jwt.PyJWKSet:
    import jwt

    # Keyed by mtime: a regenerated dev key pair is picked up without a restart.
    return jwt.PyJWKSet.from_dict(json.loads(Path(path).read_text()))


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    import jwt

    # One client per container: it caches the keys for an hour and refetches on an unknown kid.
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)
