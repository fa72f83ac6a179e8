from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import endpoint, respond
from chalicelib.scoring import service as scoring

bp = Blueprint(__name__)


@bp.route("/scoring/model", methods=["GET"], authorizer=authorize)
@endpoint
def scoring_model() -> Response:
    return respond(scoring.scoring_status())
