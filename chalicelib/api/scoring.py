from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import endpoint, respond

bp = Blueprint(__name__)


@bp.route("/scoring/model", methods=["GET"], authorizer=authorize)
@endpoint
def scoring_model() -> Response:
    from chalicelib.scoring.service import scoring_status  # loaded by the routes that score (cold start)

    return respond(scoring_status())
