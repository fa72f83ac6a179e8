from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import caller, endpoint, parse_body, parse_query, respond
from chalicelib.routing import appeal_notes, appeals, intake
from chalicelib.schemas.appeals import AppealCreate, OperatorChoice, WaitingQuery
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.leads import NoteCreate

bp = Blueprint(__name__)


@bp.route("/appeals", methods=["POST"], authorizer=authorize)
@endpoint
def submit_appeal() -> Response:
    request = bp.current_request
    taken = intake.submit_appeal(parse_body(request, AppealCreate), viewer=caller(request))
    # A repeated (source_id, message_id) answers 200 with the first appeal.
    return respond(taken.appeal, 201 if taken.created else 200)


@bp.route("/appeals/{appeal_id}", methods=["GET"], authorizer=authorize)
@endpoint
def get_appeal(appeal_id: str) -> Response:
    return respond(appeals.get_appeal(appeal_id, viewer=caller(bp.current_request)))


@bp.route("/appeals/{appeal_id}/close", methods=["POST"], authorizer=authorize)
@endpoint
def close_appeal(appeal_id: str) -> Response:
    return respond(appeals.close_appeal(appeal_id, viewer=caller(bp.current_request)))


@bp.route("/appeals/{appeal_id}/accept", methods=["POST"], authorizer=authorize)
@endpoint
def accept_appeal(appeal_id: str) -> Response:
    request, viewer = bp.current_request, caller(bp.current_request)
    # No body: the token says who is accepting (an operator's token names its operator).
    if not request.raw_body and viewer.operator_id:
        operator_id = viewer.operator_id
    else:
        operator_id = parse_body(request, OperatorChoice).operator_id
    return respond(appeals.accept_appeal(appeal_id, operator_id, viewer=viewer))


@bp.route("/appeals/{appeal_id}/history", methods=["GET"], authorizer=authorize)
@endpoint
def get_appeal_history(appeal_id: str) -> Response:
    return respond(appeals.get_history(appeal_id, viewer=caller(bp.current_request)))


@bp.route("/appeals/{appeal_id}/notes", methods=["POST"], authorizer=authorize)
@endpoint
def add_appeal_note(appeal_id: str) -> Response:
    request = bp.current_request
    note = appeal_notes.add_appeal_note(appeal_id, parse_body(request, NoteCreate).text, viewer=caller(request))
    return respond(note, 201)


@bp.route("/appeals/{appeal_id}/notes", methods=["GET"], authorizer=authorize)
@endpoint
def list_appeal_notes(appeal_id: str) -> Response:
    request = bp.current_request
    query = parse_query(request, PageQuery)
    return respond(appeal_notes.list_appeal_notes(appeal_id, query.limit, query.cursor, viewer=caller(request)))


@bp.route("/appeals/{appeal_id}/assign", methods=["POST"], authorizer=authorize)
@endpoint
def assign_appeal(appeal_id: str) -> Response:
    request = parse_body(bp.current_request, OperatorChoice)
    return respond(appeals.assign_appeal(appeal_id, request.operator_id))


@bp.route("/sources/{source_id}/waiting", methods=["GET"], authorizer=authorize)
@endpoint
def list_waiting(source_id: str) -> Response:
    query = parse_query(bp.current_request, WaitingQuery)
    return respond(appeals.list_waiting(source_id, query.escalated, query.limit, query.cursor))
