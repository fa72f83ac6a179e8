"""Opaque page cursors over DynamoDB's LastEvaluatedKey."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any, TypeVar

from pynamodb.exceptions import QueryError
from pynamodb.models import Model

from chalicelib.core.errors import MalformedInput

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from pynamodb.pagination import ResultIterator

T = TypeVar("T")
M = TypeVar("M", bound=Model)
Key = dict[str, dict[str, str]]

_MAX_KEY_VALUE = 1024
_NOT_OURS = "cursor is not valid; pass back the `next` value unchanged"


def encode_cursor(key: Key | None, **state: str) -> str | None:
    """None when there is nothing more: no key and no state to resume from."""
    if key is None and not state:
        return None
    raw = json.dumps({"k": key, **state}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    cursor: str | None, key_names: Iterable[str], pinned: Mapping[str, str] | None = None
) -> tuple[Key | None, dict[str, str]]:
    """Returns (exclusive start key, extra state); MalformedInput if it is not ours.

    `pinned` names key values the listing fixes (its partition), so a cursor
    taken from another listing is refused here instead of by DynamoDB.
    """
    if cursor is None:
        return None, {}
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise MalformedInput(_NOT_OURS) from exc
    if not _well_formed(payload, set(key_names)):
        raise MalformedInput(_NOT_OURS)
    key = payload["k"]
    if key is not None and any(key[name]["S"] != value for name, value in (pinned or {}).items()):
        raise MalformedInput("this cursor belongs to another listing")
    state = {k: v for k, v in payload.items() if k != "k"}
    return key, state


def _well_formed(payload: Any, key_names: set[str]) -> bool:
    if not isinstance(payload, dict) or "k" not in payload:
        return False
    if not all(isinstance(v, str) for k, v in payload.items() if k != "k"):
        return False
    key = payload["k"]
    if key is None:
        return len(payload) > 1
    if not isinstance(key, dict) or set(key) != key_names:
        return False
    # Every key attribute of ours is a string.
    return all(
        isinstance(value, dict)
        and set(value) == {"S"}
        and isinstance(value["S"], str)
        and 0 < len(value["S"]) <= _MAX_KEY_VALUE
        for value in key.values()
    )


def take_page(query: Callable[..., ResultIterator[Any]], limit: int, start: Key | None) -> tuple[list[Any], Key | None]:
    """Runs `query(limit=, page_size=, last_evaluated_key=)` for one page.

    Asking DynamoDB for one row more than we return means the last page has no
    cursor, instead of a cursor that leads to an empty page.
    """
    results = query(limit=limit, page_size=limit + 1, last_evaluated_key=start)
    try:
        items = list(results)
    except QueryError as exc:
        # A forged start key that passed our checks is still not DynamoDB's.
        if start is not None and exc.cause_response_code == "ValidationException":
            raise MalformedInput(_NOT_OURS) from None
        raise
    return items, results.last_evaluated_key


def take_rows_page(
    query: Callable[..., ResultIterator[Any]], model: type[M], limit: int, start: Key | None
) -> tuple[list[M], Key | None]:
    """One page from a KEYS_ONLY index, then the rows themselves in page order.

    Listing indexes project keys only, so the counters that change on every
    appeal (loads, totals) never cost an index write; a page costs one extra
    BatchGetItem instead.
    """
    keys, last = take_page(query, limit, start)
    if not keys:
        return [], last
    # The Python name, which differs from the stored one on rows sharing a table (Deal.key is `lead_id`).
    hash_name = next(name for name, attribute in model.get_attributes().items() if attribute.is_hash_key)
    rows = {getattr(row, hash_name): row for row in model.batch_get([getattr(k, hash_name) for k in keys])}
    return [rows[getattr(k, hash_name)] for k in keys if getattr(k, hash_name) in rows], last
