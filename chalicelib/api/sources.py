from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.access import bot_keys
from chalicelib.api.auth import authorize
from chalicelib.api.http import endpoint, parse_body, parse_query, respond
from chalicelib.directory import sources, weights
from chalicelib.schemas.auth import ApiKeyRotation
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.sources import SourceCreate, SourcePatch, WeightSet

bp = Blueprint(__name__)


@bp.route("/sources", methods=["POST"], authorizer=authorize)
@endpoint
def create_source() -> Response:
    return respond(sources.create_source(parse_body(bp.current_request, SourceCreate)), 201)


@bp.route("/sources", methods=["GET"], authorizer=authorize)
@endpoint
def list_sources() -> Response:
    query = parse_query(bp.current_request, PageQuery)
    return respond(sources.list_sources(query.limit, query.cursor))


@bp.route("/sources/{source_id}", methods=["GET"], authorizer=authorize)
@endpoint
def get_source(source_id: str) -> Response:
    return respond(sources.get_source(source_id))


@bp.route("/sources/{source_id}", methods=["PATCH"], authorizer=authorize)
@endpoint
def update_source(source_id: str) -> Response:
    return respond(sources.update_source(source_id, parse_body(bp.current_request, SourcePatch)))


@bp.route("/sources/{source_id}/weights", methods=["PUT"], authorizer=authorize)
@endpoint
def replace_weights(source_id: str) -> Response:
    return respond(weights.replace_weights(source_id, parse_body(bp.current_request, WeightSet)))


@bp.route("/sources/{source_id}/weights", methods=["GET"], authorizer=authorize)
@endpoint
def get_weights(source_id: str) -> Response:
    return respond(weights.get_weights(source_id))


@bp.route("/sources/{source_id}/keys", methods=["GET"], authorizer=authorize)
@endpoint
def list_api_keys(source_id: str) -> Response:
    return respond(bot_keys.list_keys(source_id))


@bp.route("/sources/{source_id}/keys", methods=["POST"], authorizer=authorize)
@endpoint
def rotate_api_key(source_id: str) -> Response:
    request = bp.current_request
    rotation = parse_body(request, ApiKeyRotation) if request.raw_body else ApiKeyRotation()
    return respond(bot_keys.rotate_key(source_id, rotation), 201)


@bp.route("/sources/{source_id}/keys/{key_id}", methods=["DELETE"], authorizer=authorize)
@endpoint
def revoke_api_key(source_id: str, key_id: str) -> Response:
    bot_keys.revoke_key(source_id, key_id)
    return Response(body="", status_code=204)
