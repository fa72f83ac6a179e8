from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import endpoint, parse_body, parse_query, respond
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.sources import SourceCreate, SourcePatch, WeightSet
from chalicelib.services import sources

bp = Blueprint(__name__)


@bp.route("/sources", methods=["POST"])
@endpoint
def create_source() -> Response:
    return respond(sources.create_source(parse_body(bp.current_request, SourceCreate)), 201)


@bp.route("/sources", methods=["GET"])
@endpoint
def list_sources() -> Response:
    query = parse_query(bp.current_request, PageQuery)
    return respond(sources.list_sources(query.limit, query.cursor))


@bp.route("/sources/{source_id}", methods=["GET"])
@endpoint
def get_source(source_id: str) -> Response:
    return respond(sources.get_source(source_id))


@bp.route("/sources/{source_id}", methods=["PATCH"])
@endpoint
def update_source(source_id: str) -> Response:
    return respond(sources.update_source(source_id, parse_body(bp.current_request, SourcePatch)))


@bp.route("/sources/{source_id}/weights", methods=["PUT"])
@endpoint
def replace_weights(source_id: str) -> Response:
    return respond(sources.replace_weights(source_id, parse_body(bp.current_request, WeightSet)))


@bp.route("/sources/{source_id}/weights", methods=["GET"])
@endpoint
def get_weights(source_id: str) -> Response:
    return respond(sources.get_weights(source_id))
