"""The one place where requests are parsed and domain errors become HTTP.

Every route is wrapped by `endpoint`, which maps:
    MalformedInput (bad JSON, foreign cursor) → 400
    PayloadTooLarge (body above 64 KB)        → 413
    InvalidInput / pydantic ValidationError   → 422 with field paths
    Unauthorized                              → 401
    Forbidden (role or ownership)             → 403
    NotFound                                  → 404
    Conflict                                  → 409
    ServiceBusy                               → 503 with Retry-After
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import Request, Response
from pydantic import BaseModel, ValidationError

from chalicelib.access.principal import Principal
from chalicelib.core.errors import (
    Conflict,
    DomainError,
    FieldProblem,
    Forbidden,
    InvalidInput,
    MalformedInput,
    NextStep,
    NotFound,
    PayloadTooLarge,
    ServiceBusy,
    Unauthorized,
)

if TYPE_CHECKING:
    from collections.abc import Callable

M = TypeVar("M", bound=BaseModel)

_STATUS: dict[type[DomainError], tuple[int, str]] = {
    MalformedInput: (400, "malformed_request"),
    InvalidInput: (422, "validation_error"),
    Unauthorized: (401, "unauthorized"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    PayloadTooLarge: (413, "payload_too_large"),
    ServiceBusy: (503, "busy"),
}
# What a caller can do about an error, as routes: the domain names the step, the edge the route.
_NEXT_STEPS: dict[NextStep, str] = {
    NextStep.TRANSFER: "a qualified lead moves on through POST /leads/{id}/transfer",
    NextStep.ANALYZE: "POST /leads/{id}/analyze scores it now",
    NextStep.SET_BUSINESS_DOMAIN: "set business_domain with PATCH /leads/{id}",
}
_JSON = {"Content-Type": "application/json"}
# A body with thousands of unknown keys must not earn a megabyte of errors.
_MAX_PROBLEMS = 20
# No body we accept comes near this (a message is at most 10,000 characters);
# refusing larger ones before parsing keeps a hostile client from making us parse megabytes.
MAX_BODY_BYTES = 64 * 1024


def parse_body(request: Request, model: type[M]) -> M:
    raw = request.raw_body
    if not raw:
        raise MalformedInput("request body is required: a JSON document")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is {len(raw):,} bytes; the limit is {MAX_BODY_BYTES:,}")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise _as_domain_error(exc, "body") from None


def parse_query(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query_params or {}))
    except ValidationError as exc:
        raise _as_domain_error(exc, "query") from None


def _as_domain_error(exc: ValidationError, where: str) -> DomainError:
    errors = exc.errors(include_url=False, include_input=False)
    if any(error["type"] == "json_invalid" for error in errors):
        return MalformedInput(f"request body is not valid JSON: {errors[0]['msg']}")
    problems = [FieldProblem(loc=(where, *error["loc"]), msg=error["msg"], type=error["type"]) for error in errors]
    return InvalidInput("request validation failed", problems)


def caller(request: Request) -> Principal:
    """The principal the authorizer vouched for (the middleware already refused requests without one)."""
    principal = Principal.from_context(request.context.get("authorizer") or {})
    if principal is None:
        raise Unauthorized("a bearer token is required")
    return principal


def respond(payload: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    sent: dict[str, str | list[str]] = {**_JSON, **(headers or {})}
    return Response(body=payload.model_dump_json(), status_code=status, headers=sent)


def error_response(exc: DomainError) -> Response:
    status, code = next((value for kind, value in _STATUS.items() if isinstance(exc, kind)), (400, "bad_request"))
    message = exc.message
    if exc.next_steps:
        message += " (" + "; ".join(_NEXT_STEPS[step] for step in exc.next_steps) + ")"
    body: dict[str, Any] = {"error": code, "message": message}
    headers: dict[str, str | list[str]] = {**_JSON}
    if isinstance(exc, InvalidInput):
        body["errors"] = [
            {"loc": list(p.loc), "path": ".".join(str(part) for part in p.loc), "msg": p.msg, "type": p.type}
            for p in exc.problems[:_MAX_PROBLEMS]
        ]
        if len(exc.problems) > _MAX_PROBLEMS:
            body["more_errors"] = len(exc.problems) - _MAX_PROBLEMS
    if isinstance(exc, ServiceBusy):
        headers["Retry-After"] = "1"
    return Response(body=json.dumps(body), status_code=status, headers=headers)


def endpoint(view: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except DomainError as exc:
            return error_response(exc)

    return wrapper
