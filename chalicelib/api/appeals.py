from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import endpoint, parse_body, respond
from chalicelib.schemas.appeals import AppealAccept, AppealCreate
from chalicelib.services import appeals

bp = Blueprint(__name__)


@bp.route("/appeals", methods=["POST"])
@endpoint
def submit_appeal() -> Response:
    intake = appeals.submit_appeal(parse_body(bp.current_request, AppealCreate))
    # A repeated (source_id, message_id) answers 200 with the first appeal.
    return respond(intake.appeal, 201 if intake.created else 200)


@bp.route("/appeals/{appeal_id}", methods=["GET"])
@endpoint
def get_appeal(appeal_id: str) -> Response:
    return respond(appeals.get_appeal(appeal_id))


@bp.route("/appeals/{appeal_id}/close", methods=["POST"])
@endpoint
def close_appeal(appeal_id: str) -> Response:
    return respond(appeals.close_appeal(appeal_id))


@bp.route("/appeals/{appeal_id}/accept", methods=["POST"])
@endpoint
def accept_appeal(appeal_id: str) -> Response:
    request = parse_body(bp.current_request, AppealAccept)
    return respond(appeals.accept_appeal(appeal_id, request.operator_id))


@bp.route("/appeals/{appeal_id}/history", methods=["GET"])
@endpoint
def get_appeal_history(appeal_id: str) -> Response:
    return respond(appeals.get_history(appeal_id))
