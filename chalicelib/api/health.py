from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.http import endpoint, respond
from chalicelib.schemas.common import Health

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
@endpoint
def health() -> Response:
    return respond(Health(status="ok"))
