"""Per-source bot API keys: issue, rotate, revoke, recognise.

A key reads `lcbot.<source id>.<key id>.<secret>`. The source id in it lets
the authorizer find the one row to check with a single GetItem; only the
secret's SHA-256 is stored, and the comparison is constant-time. Rotating
issues a new key and gives the older ones a grace period (default a day) so
a bot can be redeployed with the new key before the old one stops working.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.access.principal import Principal
from chalicelib.access.secrets import hash_secret
from chalicelib.core.errors import NotFound, ServiceBusy
from chalicelib.core.ids import iso, utc_now
from chalicelib.db.retry import tries
from chalicelib.db.transactions import update_if
from chalicelib.models.sources import ApiKey, Source, get_source_row
from chalicelib.schemas.auth import ApiKeyIssued, ApiKeyList, ApiKeyOut, ApiKeyRotation

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["PREFIX", "authenticate_key", "is_api_key", "list_keys", "live_key_hash", "revoke_key", "rotate_key"]

PREFIX = "lcbot"
# Expired keys are dropped on the next change; this caps the live ones so the row stays small.
MAX_KEYS = 5
# Negative cache: a key that failed is refused without a read for this long, per container.
# Safe because a key that failed never becomes valid: new keys are new random strings.
FAILED_KEY_TTL_SECONDS = 300.0
_FAILED_KEYS_MAX = 10_000
_failed_keys: dict[str, float] = {}


def is_api_key(token: str) -> bool:
    return token.startswith(PREFIX + ".")


def authenticate_key(token: str) -> Principal | None:
    """The bot this key belongs to, or None for anything else (unknown, revoked, expired, garbage).

    A key that failed is remembered (its digest, never the key) and refused
    without a database read until FAILED_KEY_TTL_SECONDS pass, so a client
    hammering with a bad key costs no read units after the first try."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    now = time.monotonic()
    if _failed_keys.get(digest, 0.0) > now:
        return None
    principal = _check_key(token)
    if principal is None:
        if len(_failed_keys) >= _FAILED_KEYS_MAX:
            _failed_keys.pop(next(iter(_failed_keys)))  # the oldest entry
        _failed_keys[digest] = now + FAILED_KEY_TTL_SECONDS
    return principal


def _check_key(token: str) -> Principal | None:
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    _, source_id, key_id, secret = parts
    try:
        source = get_source_row(source_id)
    except NotFound:
        return None
    presented = hash_secret(secret)
    now = iso(utc_now())
    for key in source.api_keys or ():
        if key.key_id == key_id and _live(key, now) and hmac.compare_digest(key.secret_hash, presented):
            return Principal(role="bot", subject=f"source:{source_id}", source_id=source_id)
    return None


def live_key_hash(source: Source, key_id: str) -> str | None:
    """The stored hash of one live key of the source (a queue message's signing key), or None."""
    now = iso(utc_now())
    return next((k.secret_hash for k in source.api_keys or () if k.key_id == key_id and _live(k, now)), None)


def list_keys(source_id: str) -> ApiKeyList:
    source = get_source_row(source_id)
    now = iso(utc_now())
    return ApiKeyList(source_id=source_id, keys=[_out(key) for key in source.api_keys or () if _live(key, now)])


def rotate_key(source_id: str, request: ApiKeyRotation) -> ApiKeyIssued:
    now = utc_now()
    grace_end = iso(now + timedelta(seconds=request.previous_keys_valid_for_seconds))
    key_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    fresh = ApiKey(key_id=key_id, secret_hash=hash_secret(secret), created_at=iso(now))

    def retire(key: ApiKey) -> ApiKey:
        if key.expires_at is None or key.expires_at > grace_end:
            key.expires_at = grace_end
        return key

    _change_keys(source_id, lambda keys: [*[retire(key) for key in keys][-(MAX_KEYS - 1) :], fresh])
    return ApiKeyIssued(
        key_id=key_id, created_at=fresh.created_at, expires_at=None, api_key=f"{PREFIX}.{source_id}.{key_id}.{secret}"
    )


def revoke_key(source_id: str, key_id: str) -> None:
    def without(keys: list[ApiKey]) -> list[ApiKey]:
        if not any(key.key_id == key_id for key in keys):
            raise NotFound.entity("api key", key_id)
        return [key for key in keys if key.key_id != key_id]

    _change_keys(source_id, without)


def _change_keys(source_id: str, change: Callable[[list[ApiKey]], list[ApiKey]]) -> None:
    for _ in tries():
        source = get_source_row(source_id)
        now = iso(utc_now())
        keys = change([key for key in source.api_keys or () if _live(key, now)])
        version = source.api_keys_version
        condition = Source.api_keys_version.does_not_exist() if version is None else Source.api_keys_version == version
        actions = [
            Source.api_keys.set(keys) if keys else Source.api_keys.remove(),
            Source.api_keys_version.set(int(version or 0) + 1),
        ]
        # Another rotation landed between our read and write: apply ours on top of it.
        if update_if(source, actions, condition & Source.source_id.exists(), "source"):
            return
    raise ServiceBusy("this source's keys are changing too fast; retry shortly")


def _live(key: ApiKey, now: str) -> bool:
    return key.expires_at is None or key.expires_at > now


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(key_id=key.key_id, created_at=key.created_at, expires_at=key.expires_at)
