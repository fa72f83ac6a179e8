"""GET /openapi.json: the OpenAPI 3.1 document, built from the live routes and the contract table.

Public by design (clients and code generators fetch it before they hold a
token). It is built on the first request and kept for the container's life:
the routes cannot change under a running function, and building costs a few
tens of milliseconds we should not pay per request or at cold start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response, RouteEntry
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chalicelib.api.http import MAX_BODY_BYTES, endpoint, error_response
from chalicelib.core.errors import (
    Conflict,
    DomainError,
    FieldProblem,
    Forbidden,
    InvalidInput,
    MalformedInput,
    NotFound,
    PayloadTooLarge,
    ServiceBusy,
    Unauthorized,
)
from chalicelib.schemas.common import Patch

if TYPE_CHECKING:
    from chalicelib.api.contract import Contract, Reply, ResponseModel

bp = Blueprint(__name__)

Routes = Mapping[str, Mapping[str, RouteEntry]]
Schema = dict[str, Any]

OPENAPI_VERSION = "3.1.0"
API_VERSION = "0.1.0"
JSON = "application/json"
COMPONENT = "#/components/schemas/{model}"
SECURITY_SCHEME = "bearerAuth"
_PATH_PARAMETER = re.compile(r"\{([^/{}]+)\}")

ROUTE = "/openapi.json"

# The document, built on first use, and its JSON by the path prefix it was served under.
_document: dict[str, Any] | None = None
_bodies: dict[str, str] = {}


@bp.route(ROUTE, methods=["GET"])
@endpoint
def openapi_document() -> Response:
    global _document
    prefix = served_under(bp.current_request.context)
    body = _bodies.get(prefix)
    if body is None:
        if _document is None:
            _document = build_document(bp.current_app.routes)
        body = _bodies[prefix] = json.dumps({**_document, "servers": [{"url": prefix or "/"}]}, ensure_ascii=False)
    # Clients may keep it for a while: it changes only with a deployment.
    return Response(body=body, status_code=200, headers={"Content-Type": JSON, "Cache-Control": "max-age=300"})


def served_under(request_context: Mapping[str, Any]) -> str:
    """The path prefix in front of the routes: API Gateway's stage (`/api`) or a custom
    domain's base path, empty under chalice local; clients resolve operations against it."""
    full = str(request_context.get("path") or ROUTE)
    return full.removesuffix(ROUTE).rstrip("/") if full.endswith(ROUTE) else ""


def undocumented_routes(routes: Routes) -> list[tuple[str, str]]:
    """(method, path) of every live route the contract table does not describe."""
    from chalicelib.api.contract import CONTRACT

    return sorted(
        (method, path) for path, methods in routes.items() for method in methods if (method, path) not in CONTRACT
    )


def is_protected(entry: RouteEntry) -> bool:
    # Read from the route itself, so a route that gains or loses the authorizer is documented as it is.
    return entry.authorizer is not None


def build_document(routes: Routes) -> dict[str, Any]:
    # Imported here, not at module level: the table pulls in every schema module,
    # which only this (rarely called) route needs.
    from chalicelib.api.contract import CONTRACT

    live = [
        (path, method, entry, CONTRACT.get((method, path)))
        for path, methods in sorted(routes.items())
        for method, entry in sorted(methods.items())
    ]
    components = _model_components(contract for *_, contract in live if contract is not None)
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for path, method, entry, contract in live:
        operation_id = _unique(entry.view_name, operation_ids)
        if contract is not None:
            operation = _operation(path, entry, contract, components, operation_id)
        else:
            # Still listed (the test fails on it), so nobody mistakes the route for absent.
            operation = {
                "operationId": operation_id,
                "summary": "Undocumented route",
                "parameters": _path_parameters(path, {}),
                "responses": {"default": {"description": "Not described in chalicelib/api/contract.py"}},
            }
            if not is_protected(entry):
                operation["security"] = []
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "LeadCRM API",
            "version": API_VERSION,
            "description": (
                "Lead distribution with exact load counters. JSON in and out; ids are opaque strings; "
                "times are ISO-8601 UTC. List endpoints take `limit` (1-200) and `cursor` (the previous page's "
                "`next`). Every route but the public ones needs `Authorization: Bearer <token>`: a JWT "
                "(Cognito, or the dev stack's) or a source's bot API key."
            ),
        },
        # The route replaces it with the prefix it was served under (API Gateway's stage).
        "servers": [{"url": "/"}],
        "security": [{SECURITY_SCHEME: []}],
        "tags": [{"name": name} for name in sorted({c.tag for c in CONTRACT.values()})],
        "paths": paths,
        "components": {
            "schemas": components.schemas,
            "responses": _error_responses(),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "A Cognito (or dev stack) JWT whose group is admin or operator, or a bot's source API key "
                        "(`lcbot.…`, from POST /sources/{source_id}/keys) sent the same way."
                    ),
                }
            },
        },
    }


class _Components:
    """JSON Schemas of every model the table names, under #/components/schemas."""

    def __init__(self, refs: Mapping[tuple[type[Any], JsonSchemaMode], Schema], schemas: dict[str, Schema]) -> None:
        self._refs = refs
        self.schemas = schemas

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> Schema:
        return dict(self._refs[(model, mode)])


def _model_components(contracts: Iterable[Contract]) -> _Components:
    keys: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for contract in contracts:
        if contract.body is not None:
            keys[(contract.body, "validation")] = None
        for reply in contract.replies.values():
            for model in _models(reply.model):
                keys[(model, "serialization")] = None
    refs, top = models_json_schema(list(keys), ref_template=COMPONENT)
    schemas: dict[str, Schema] = dict(top.get("$defs", {}))
    for (schema_of, mode), ref in refs.items():
        if mode == "validation" and issubclass(schema_of, BaseModel):
            _tighten_patch(schema_of, schemas[ref["$ref"].rsplit("/", 1)[-1]])
    schemas.update(_error_schemas())
    return _Components(refs, dict(sorted(schemas.items())))


def _models(model: ResponseModel) -> tuple[type[BaseModel], ...]:
    if model is None:
        return ()
    return model if isinstance(model, tuple) else (model,)


def _tighten_patch(model: type[BaseModel], schema: Schema) -> None:
    """A PATCH body says more than its pydantic schema: at least one field, and
    `null` only where the field may be cleared (Patch._reject_empty/_reject_null)."""
    if not issubclass(model, Patch):
        return
    schema["minProperties"] = 1
    for name, prop in schema.get("properties", {}).items():
        if name in model.NULLABLE:
            continue
        prop.pop("default", None)
        options = [option for option in prop.pop("anyOf", []) if option != {"type": "null"}]
        if len(options) == 1:
            prop.update(options[0])
        elif options:
            prop["anyOf"] = options


def _operation(
    path: str, entry: RouteEntry, contract: Contract, components: _Components, operation_id: str
) -> dict[str, Any]:
    parameters = _path_parameters(path, contract.path_schemas)
    parameters += [
        {"name": h.name, "in": "header", "required": h.required, "description": h.description, "schema": h.schema}
        for h in contract.headers
    ]
    errors: set[int] = set(contract.errors)
    if contract.query is not None:
        parameters += _query_parameters(contract.query)
        errors.add(422)
        if "cursor" in contract.query.model_fields:
            errors.add(400)  # a cursor that is not ours
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": contract.summary,
        "tags": [contract.tag],
    }
    if contract.description:
        operation["description"] = contract.description
    if parameters:
        operation["parameters"] = parameters
    if contract.body is not None:
        errors |= {400, 413, 415, 422}
        operation["requestBody"] = {
            "required": contract.body_required,
            "description": f"JSON, at most {MAX_BODY_BYTES:,} bytes",
            "content": {JSON: {"schema": components.ref(contract.body, "validation")}},
        }
    if is_protected(entry):
        errors |= {401, 403}
    else:
        operation["security"] = []
    responses: dict[str, Any] = {}
    for status, reply in sorted(contract.replies.items()):
        responses[str(status)] = _success(reply, components)
    for status in sorted(errors):
        name = _ERROR_RESPONSE_NAMES[status]
        if status == 401 and not is_protected(entry):
            name = "SecretRejected"
        responses[str(status)] = {"$ref": f"#/components/responses/{name}"}
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _success(reply: Reply, components: _Components) -> dict[str, Any]:
    models = _models(reply.model)
    if not models:
        return {"description": reply.description}
    refs = [components.ref(model, "serialization") for model in models]
    schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
    return {"description": reply.description, "content": {JSON: {"schema": schema}}}


def _path_parameters(path: str, schemas: Mapping[str, Schema]) -> list[dict[str, Any]]:
    # API Gateway matches a path parameter to one non-empty segment.
    return [
        {"name": name, "in": "path", "required": True, "schema": schemas.get(name, {"type": "string", "minLength": 1})}
        for name in _PATH_PARAMETER.findall(path)
    ]


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _inline(prop, schema.get("$defs", {}))
        description = prop.pop("description", None)
        prop.pop("title", None)
        # A query string cannot carry null: "absent" is how a client leaves an optional one out.
        options = [option for option in prop.get("anyOf", []) if option != {"type": "null"}]
        if "anyOf" in prop:
            del prop["anyOf"]
            prop = {**(options[0] if len(options) == 1 else {"anyOf": options}), **prop}
        if prop.get("default", "") is None:
            del prop["default"]
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _inline(schema: Any, defs: Mapping[str, Schema]) -> Any:
    # Query parameters are documented inline (they are few and small), so their refs are resolved here.
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {key: _inline(value, defs) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inline(item, defs) for item in schema]
    return schema


def _unique(name: str, seen: set[str]) -> str:
    candidate, n = name, 2
    while candidate in seen:
        candidate, n = f"{name}_{n}", n + 1
    seen.add(candidate)
    return candidate


# --- errors ------------------------------------------------------------------------------


_SAMPLES: tuple[DomainError, ...] = (
    MalformedInput("sample"),
    Unauthorized("sample"),
    Forbidden("sample"),
    NotFound("sample"),
    Conflict("sample"),
    PayloadTooLarge("sample"),
    InvalidInput("sample", [FieldProblem(("body",), "sample")]),
    ServiceBusy("sample"),
)


def _error_codes() -> dict[int, str]:
    """status → `error` code, read from http.error_response itself so the two cannot disagree."""
    codes = {}
    for sample in _SAMPLES:
        response = error_response(sample)
        codes[response.status_code] = json.loads(response.body)["error"]
    return codes


def _listed_problems_cap() -> int:
    """How many problems a 422 lists before it only counts the rest, measured on error_response."""
    many = InvalidInput("sample", [FieldProblem(("body", n), "sample") for n in range(1000)])
    return len(json.loads(error_response(many).body)["errors"])


def _error_schemas() -> dict[str, Schema]:
    cap = _listed_problems_cap()
    return {
        "Error": {
            "title": "Error",
            "type": "object",
            "description": "Every error this API answers itself.",
            "properties": {
                "error": {"type": "string", "description": "Machine-readable: not_found, conflict, busy, …"},
                "message": {"type": "string", "description": "For people"},
            },
            "required": ["error", "message"],
            "additionalProperties": False,
        },
        "FieldError": {
            "title": "FieldError",
            "type": "object",
            "properties": {
                "loc": {
                    "type": "array",
                    "items": {"type": ["string", "integer"]},
                    "description": "e.g. [body, max_load]",
                },
                "path": {"type": "string", "description": "loc joined with dots: body.max_load"},
                "msg": {"type": "string"},
                "type": {"type": "string", "description": "pydantic's error type, e.g. less_than_equal"},
            },
            "required": ["loc", "path", "msg", "type"],
            "additionalProperties": False,
        },
        "ValidationError": {
            "title": "ValidationError",
            "type": "object",
            "properties": {
                "error": {"const": "validation_error"},
                "message": {"type": "string"},
                "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}, "maxItems": cap},
                "more_errors": {
                    "type": "integer",
                    "minimum": 1,
                    "description": f"Problems beyond the first {cap}, not listed",
                },
            },
            "required": ["error", "message", "errors"],
            "additionalProperties": False,
        },
        "GatewayError": {
            "title": "GatewayError",
            "type": "object",
            "description": "API Gateway's own answer when its authorizer refuses a request before the app sees it.",
            "properties": {"message": {"type": ["string", "null"]}, "Message": {"type": "string"}},
        },
        "ChaliceError": {
            "title": "ChaliceError",
            "type": "object",
            "description": "The framework's own answer, before the app sees the request.",
            "properties": {"Code": {"type": "string"}, "Message": {"type": "string"}},
            "required": ["Code", "Message"],
        },
    }


_ERROR_RESPONSE_NAMES = {
    400: "MalformedRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationFailed",
    503: "Busy",
}


def _error(code: str) -> Schema:
    return {"allOf": [{"$ref": "#/components/schemas/Error"}], "properties": {"error": {"const": code}}}


def _error_responses() -> dict[str, Any]:
    codes = _error_codes()

    def json_body(schema: Schema, description: str, **extra: Any) -> dict[str, Any]:
        return {"description": description, "content": {JSON: {"schema": schema}}, **extra}

    gateway_or_app = {"anyOf": [_error(codes[401]), {"$ref": "#/components/schemas/GatewayError"}]}
    forbidden = {"anyOf": [_error(codes[403]), {"$ref": "#/components/schemas/GatewayError"}]}
    return {
        "MalformedRequest": json_body(
            _error(codes[400]), "Not JSON, no body where one is required, or a cursor from another listing"
        ),
        "Unauthorized": json_body(gateway_or_app, "No bearer token, or one that is expired, forged or not for us"),
        "SecretRejected": json_body(_error(codes[401]), "Missing or wrong webhook secret, or an unknown source"),
        "Forbidden": json_body(forbidden, "The caller's role or ownership does not allow this"),
        "NotFound": json_body(_error(codes[404]), "An id that names nothing"),
        "Conflict": json_body(_error(codes[409]), "Valid, but the current state forbids it; the message says why"),
        "PayloadTooLarge": json_body(_error(codes[413]), f"Body above {MAX_BODY_BYTES:,} bytes"),
        "UnsupportedMediaType": json_body(
            {"$ref": "#/components/schemas/ChaliceError"}, "A Content-Type other than application/json"
        ),
        "ValidationFailed": json_body(
            {"$ref": "#/components/schemas/ValidationError"}, "The request breaks the schema; each problem has a path"
        ),
        "Busy": json_body(
            _error(codes[503]),
            "Contention outlasted our retries; retry after the given seconds",
            headers={"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 0}}},
        ),
    }
