"""Opaque page cursors over DynamoDB's LastEvaluatedKey."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pynamodb.pagination import ResultIterator

from chalicelib.errors import MalformedInput

T = TypeVar("T")
Key = dict[str, dict[str, str]]

_MAX_KEY_VALUE = 1024


def encode_cursor(key: Key | None, **state: str) -> str | None:
    """None when there is nothing more: no key and no state to resume from."""
    if key is None and not state:
        return None
    raw = json.dumps({"k": key, **state}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, key_names: Iterable[str]) -> tuple[Key | None, dict[str, str]]:
    """Returns (exclusive start key, extra state); MalformedInput if it is not ours."""
    if cursor is None:
        return None, {}
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise MalformedInput("cursor is not valid; pass back the `next` value unchanged") from exc
    if not _well_formed(payload, set(key_names)):
        raise MalformedInput("cursor is not valid; pass back the `next` value unchanged")
    state = {k: v for k, v in payload.items() if k != "k"}
    return payload["k"], state


def _well_formed(payload: Any, key_names: set[str]) -> bool:
    if not isinstance(payload, dict) or "k" not in payload:
        return False
    key = payload["k"]
    if key is None:
        return all(isinstance(v, str) for k, v in payload.items() if k != "k") and len(payload) > 1
    if not isinstance(key, dict) or set(key) != key_names:
        return False
    for value in key.values():
        if not (isinstance(value, dict) and len(value) == 1):
            return False
        ((kind, text),) = value.items()
        if kind not in ("S", "N") or not isinstance(text, str) or not 0 < len(text) <= _MAX_KEY_VALUE:
            return False
    return all(isinstance(v, str) for k, v in payload.items() if k != "k")


def take_page(query: Callable[..., ResultIterator[Any]], limit: int, start: Key | None) -> tuple[list[Any], Key | None]:
    """Runs `query(limit=, page_size=, last_evaluated_key=)` for one page.

    Asking DynamoDB for one row more than we return means the last page has no
    cursor, instead of a cursor that leads to an empty page.
    """
    results = query(limit=limit, page_size=limit + 1, last_evaluated_key=start)
    items = list(results)
    return items, results.last_evaluated_key
