"""The OpenAPI document: complete, valid 3.1, and true to what the app answers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from chalice.test import Client
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

from app import app
from chalicelib.access.routes import PUBLIC_ROUTES
from chalicelib.api.contract import CONTRACT
from chalicelib.api.openapi import build_document, is_protected, served_under, undocumented_routes
from tests.support import Api, Reply, appeal_body, operator_token

if TYPE_CHECKING:
    from scripts.local.dev_auth import DevKeys

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document(app.routes)


def live_routes() -> set[tuple[str, str]]:
    return {(method, path) for path, methods in app.routes.items() for method in methods}


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def response_schema(document: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any] | None:
    """The documented body schema for this status; fails when the status is not documented."""
    responses = operations(document)[(method, path)]["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}, documented: {sorted(responses)}"
    response = responses[str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    content = response.get("content")
    return None if content is None else content["application/json"]["schema"]


def assert_conforms(document: dict[str, Any], method: str, path: str, reply: Reply) -> None:
    schema = response_schema(document, method, path, reply.status)
    if schema is None:
        assert reply.body is None, f"{method} {path} {reply.status} documents no body but sent {reply.body!r}"
        return
    # Refs point at #/components/…, so the components ride along in the root schema.
    validator = Draft202012Validator(
        {**schema, "components": document["components"]}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(reply.body)]
    assert problems == [], f"{method} {path} {reply.status} does not match its documented schema"


# --- the document guards the routes ----------------------------------------------------


def test_GIVEN_the_app_WHEN_listing_its_routes_THEN_every_one_has_a_contract() -> None:
    assert undocumented_routes(app.routes) == [], "add a row to chalicelib/api/contract.py for each of these"


def test_GIVEN_the_contract_table_WHEN_compared_with_the_routes_THEN_no_row_describes_a_route_that_is_gone() -> None:
    assert set(CONTRACT) - live_routes() == set(), "remove these rows from chalicelib/api/contract.py"


def test_GIVEN_the_document_WHEN_validated_THEN_it_is_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_GIVEN_the_document_WHEN_read_THEN_it_lists_every_live_route_once(document: dict[str, Any]) -> None:
    documented = operations(document)
    assert set(documented) == live_routes()
    ids = [operation["operationId"] for operation in documented.values()]
    assert len(ids) == len(set(ids))


def test_GIVEN_each_route_WHEN_documented_THEN_its_path_parameters_match_the_template(document: dict[str, Any]) -> None:
    for (method, path), operation in operations(document).items():
        entry = app.routes[path][method]
        named = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        assert named == entry.view_args, (method, path)


def test_GIVEN_the_authorizer_WHEN_documented_THEN_bearer_is_the_default_and_public_routes_opt_out(
    document: dict[str, Any],
) -> None:
    assert document["security"] == [{"bearerAuth": []}]
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for (method, path), operation in operations(document).items():
        protected = is_protected(app.routes[path][method])
        assert ("security" not in operation) is protected, (method, path)
        assert {"401", "403"} <= set(operation["responses"]) if protected else operation["security"] == []
    if any(is_protected(entry) for methods in app.routes.values() for entry in methods.values()):
        public = {key for key, operation in operations(document).items() if operation.get("security") == []}
        # The document and the access table the middleware enforces agree on what is public.
        assert public == PUBLIC_ROUTES


# --- the app agrees with its document ---------------------------------------------------


def test_GIVEN_no_token_WHEN_fetching_the_document_THEN_200_and_the_same_document_every_time(
    document: dict[str, Any], aws_credentials: None
) -> None:
    with Client(app, stage_name="dev") as client:
        first = client.http.get("/openapi.json")
        second = client.http.get("/openapi.json")

    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/json"
    assert first.body == second.body
    assert json.loads(first.body) == json.loads(json.dumps({**document, "servers": [{"url": "/"}]}))


@pytest.mark.parametrize(
    ("served_at", "prefix"),
    [("/openapi.json", ""), ("/api/openapi.json", "/api"), ("/v1/crm/openapi.json", "/v1/crm"), (None, "")],
)
def test_GIVEN_where_the_document_was_fetched_WHEN_it_names_its_server_THEN_the_stage_prefix_is_kept(
    served_at: str | None, prefix: str
) -> None:
    # API Gateway puts the stage (or a custom domain's base path) in requestContext.path only.
    assert served_under({"path": served_at} if served_at else {}) == prefix


def test_GIVEN_a_walk_through_the_api_WHEN_each_reply_is_checked_THEN_it_matches_the_documented_schema(
    api: Api, document: dict[str, Any]
) -> None:
    def call(method: str, template: str, path: str, body: Any = None, raw: str | None = None) -> Reply:
        reply = api.call(method, path, body, raw)
        assert_conforms(document, method, template, reply)
        return reply

    operator = call("POST", "/operators", "/operators", {"name": "Anna", "max_load": 2}).body
    source = call("POST", "/sources", "/sources", {"name": "Bot", "response_sla_seconds": 60}).body
    weights = [{"operator_id": operator["id"], "weight": 10}]
    call("PUT", "/sources/{source_id}/weights", f"/sources/{source['id']}/weights", weights)
    body = appeal_body(source["id"])
    appeal = call("POST", "/appeals", "/appeals", body).body
    assert call("POST", "/appeals", "/appeals", body).status == 200  # the same message again
    call("GET", "/appeals/{appeal_id}/history", f"/appeals/{appeal['id']}/history")
    call("POST", "/appeals/{appeal_id}/close", f"/appeals/{appeal['id']}/close")
    assert call("POST", "/appeals/{appeal_id}/close", f"/appeals/{appeal['id']}/close").status == 409
    call("POST", "/leads/{lead_id}/analyze", f"/leads/{appeal['lead_id']}/analyze")
    assert call("POST", "/leads/{lead_id}/transfer", f"/leads/{appeal['lead_id']}/transfer").status == 409
    call("GET", "/leads", "/leads?limit=1")
    call("GET", "/operators/{operator_id}/appeals", f"/operators/{operator['id']}/appeals?status=closed")
    call("GET", "/stats/distribution", "/stats/distribution")
    call("POST", "/admin/jobs/{name}/run", "/admin/jobs/reassign/run")
    call("POST", "/admin/jobs/{name}/run", "/admin/jobs/audit/run")
    call("GET", "/health", "/health")
    if "/me" in app.routes:  # the auth work's routes
        call("GET", "/me", "/me")
        key = call("POST", "/sources/{source_id}/keys", f"/sources/{source['id']}/keys", {}).body
        call("GET", "/sources/{source_id}/keys", f"/sources/{source['id']}/keys")
        revoked = call("DELETE", "/sources/{source_id}/keys/{key_id}", f"/sources/{source['id']}/keys/{key['key_id']}")
        assert revoked.status == 204

    assert call("GET", "/appeals/{appeal_id}", "/appeals/ap_nope").status == 404
    assert call("POST", "/admin/jobs/{name}/run", "/admin/jobs/nope/run").status == 404
    assert call("POST", "/operators", "/operators", {"name": "", "max_load": -1}).status == 422
    assert call("POST", "/operators", "/operators", raw="{not json").status == 400
    assert call("GET", "/operators", "/operators?cursor=garbage").status == 400
    assert call("POST", "/operators", "/operators", {"name": "x" * 70_000}).status == 413
    assert call("PATCH", "/sources/{source_id}", f"/sources/{source['id']}", {}).status == 422


def test_GIVEN_a_protected_route_WHEN_the_caller_is_refused_THEN_the_401_or_403_matches_the_document(
    api: Api, document: dict[str, Any], dev_keys: DevKeys
) -> None:
    if not is_protected(app.routes["/operators"]["GET"]):
        pytest.skip("routes carry no authorizer yet")
    operator = api.operator()

    no_token = api.as_(None).get("/operators")
    forged = api.as_("not-a-jwt").get("/operators")
    wrong_role = api.as_(operator_token(dev_keys, operator["id"])).get("/operators")

    assert (no_token.status, forged.status, wrong_role.status) == (401, 401, 403)
    for reply in (no_token, forged, wrong_role):
        assert_conforms(document, "GET", "/operators", reply)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/operators/{operator_id}", {"max_load": None}),
        ("/operators/{operator_id}", {}),
        ("/sources/{source_id}", {"name": None}),
        ("/leads/{lead_id}", {}),
    ],
)
def test_GIVEN_a_patch_the_app_refuses_WHEN_checked_against_the_document_THEN_the_document_refuses_it_too(
    api: Api, document: dict[str, Any], path: str, body: dict[str, Any]
) -> None:
    operation = operations(document)[("PATCH", path)]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": document["components"]})
    ids = {"operator_id": api.operator()["id"], "source_id": api.source()["id"], "lead_id": "ld_any"}

    reply = api.patch(path.format(**ids), body)

    assert reply.status == 422
    assert not validator.is_valid(body)


def test_GIVEN_a_clearable_field_WHEN_patched_with_null_THEN_both_the_document_and_the_app_accept_it(
    api: Api, document: dict[str, Any]
) -> None:
    schema = operations(document)[("PATCH", "/sources/{source_id}")]["requestBody"]["content"]["application/json"]
    validator = Draft202012Validator({**schema["schema"], "components": document["components"]})
    source = api.source(description="to be cleared")

    reply = api.patch(f"/sources/{source['id']}", {"description": None})

    assert reply.status == 200
    assert validator.is_valid({"description": None})
