from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import endpoint, parse_query, respond
from chalicelib.directory import stats
from chalicelib.schemas.common import PageQuery

bp = Blueprint(__name__)


@bp.route("/stats/distribution", methods=["GET"], authorizer=authorize)
@endpoint
def distribution_stats() -> Response:
    query = parse_query(bp.current_request, PageQuery)
    return respond(stats.distribution_stats(query.limit, query.cursor))


@bp.route("/stats/sources/{source_id}/operators", methods=["GET"], authorizer=authorize)
@endpoint
def source_operators(source_id: str) -> Response:
    return respond(stats.source_operators(source_id))
