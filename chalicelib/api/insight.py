"""Routes that read a source's history: the what-if simulation, weight suggestions, exports."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import endpoint, parse_body, parse_query, respond
from chalicelib.directory import weights as weight_changes
from chalicelib.insight import advice, export, simulation
from chalicelib.schemas.insight import ExportRequest, SimulationRequest, SuggestionsQuery
from chalicelib.schemas.sources import HistoryQuery

bp = Blueprint(__name__)


@bp.route("/sources/{source_id}/simulate", methods=["POST"], authorizer=authorize)
@endpoint
def simulate(source_id: str) -> Response:
    return respond(simulation.simulate(source_id, parse_body(bp.current_request, SimulationRequest)))


@bp.route("/sources/{source_id}/suggestions", methods=["GET"], authorizer=authorize)
@endpoint
def suggestions(source_id: str) -> Response:
    return respond(advice.get_suggestions(source_id, parse_query(bp.current_request, SuggestionsQuery).n))


@bp.route("/sources/{source_id}/suggestions/apply", methods=["POST"], authorizer=authorize)
@endpoint
def apply_suggestions(source_id: str) -> Response:
    return respond(advice.apply_suggestions(source_id, parse_query(bp.current_request, SuggestionsQuery).n))


@bp.route("/sources/{source_id}/weights/history", methods=["GET"], authorizer=authorize)
@endpoint
def weights_history(source_id: str) -> Response:
    return respond(weight_changes.weight_history(source_id, parse_query(bp.current_request, HistoryQuery).limit))


@bp.route("/exports", methods=["POST"], authorizer=authorize)
@endpoint
def create_export() -> Response:
    return respond(export.export(parse_body(bp.current_request, ExportRequest)), 201)
