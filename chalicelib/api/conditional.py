"""Conditional GETs: every successful GET answer carries an `ETag`, and a client
that sends it back in `If-None-Match` gets `304 Not Modified` without a body
when the answer has not changed.

The console polls the operator's inbox and the admin's dashboard every few
seconds this way: an unchanged list costs the read it always did, but no
transfer, no parsing and no re-rendering on the client. Chalice applies
middleware registered on a blueprint to the whole app.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from chalice.app import Blueprint, Request, Response

if TYPE_CHECKING:
    from collections.abc import Callable

bp = Blueprint(__name__)

ETAG = "ETag"
# Headers a 304 must repeat (RFC 9110 §15.4.5) so a cache can refresh what it keeps.
_KEPT_ON_304 = ("Cache-Control", "Content-Location", "Expires", "Vary")


def entity_tag(body: str | bytes) -> str:
    """A strong validator: equal bodies, equal tags."""
    data = body.encode() if isinstance(body, str) else body
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """`If-None-Match` lists tags (`"a", W/"b"`) or is `*`; GET compares weakly."""
    if not if_none_match:
        return False
    candidates = {part.strip().removeprefix("W/") for part in if_none_match.split(",")}
    return "*" in candidates or tag.removeprefix("W/") in candidates


@bp.middleware("http")
def conditional_get(event: Request, get_response: Callable[[Request], Response]) -> Response:
    response = get_response(event)
    if event.method != "GET" or response.status_code != 200 or not isinstance(response.body, str | bytes):
        return response
    headers = response.headers
    given = headers.get(ETAG)
    tag = given if isinstance(given, str) and given else entity_tag(response.body)
    headers[ETAG] = tag
    if not matches(event.headers.get("if-none-match") if event.headers else None, tag):
        return response
    kept = {name: headers[name] for name in _KEPT_ON_304 if name in headers}
    return Response(body="", status_code=304, headers={ETAG: tag, **kept})
