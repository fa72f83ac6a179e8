"""Routes that read a source's history: the what-if simulation, weight suggestions, exports."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import endpoint, parse_body, respond
from chalicelib.insight import simulation
from chalicelib.schemas.insight import SimulationRequest

bp = Blueprint(__name__)


@bp.route("/sources/{source_id}/simulate", methods=["POST"], authorizer=authorize)
@endpoint
def simulate(source_id: str) -> Response:
    return respond(simulation.simulate(source_id, parse_body(bp.current_request, SimulationRequest)))
