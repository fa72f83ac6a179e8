"""From an Authorization header to a principal: a bot key or a bearer JWT."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.access import bot_keys
from chalicelib.access.tokens import TokenRejected, verify_jwt

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal

__all__ = ["authenticate"]

_SCHEME = "bearer "


def authenticate(authorization: str | None) -> Principal:
    """Raises TokenRejected (→ 401) or NoRole (→ 403); never says which check failed to the caller."""
    header = (authorization or "").strip()
    if header[: len(_SCHEME)].lower() != _SCHEME:
        raise TokenRejected("no bearer token")
    token = header[len(_SCHEME) :].strip()
    if not token:
        raise TokenRejected("empty token")
    if bot_keys.is_api_key(token):
        principal = bot_keys.authenticate_key(token)
        if principal is None:
            raise TokenRejected("unknown api key")
        return principal
    return verify_jwt(token)
