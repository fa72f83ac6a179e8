from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import caller, endpoint, parse_query, respond
from chalicelib.directory import stats
from chalicelib.insight import reports
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.stats import OperatorStatsQuery, TimelineQuery

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


@bp.route("/stats/operators", methods=["GET"], authorizer=authorize)
@endpoint
def operator_stats() -> Response:
    request = bp.current_request
    return respond(reports.operator_stats(parse_query(request, OperatorStatsQuery), viewer=caller(request)))


@bp.route("/stats/sources/{source_id}/timeline", methods=["GET"], authorizer=authorize)
@endpoint
def source_timeline(source_id: str) -> Response:
    return respond(reports.source_timeline(source_id, parse_query(bp.current_request, TimelineQuery)))
