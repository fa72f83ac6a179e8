from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import caller, endpoint, parse_body, parse_query, respond
from chalicelib.funnel import leads, notes, transfer
from chalicelib.routing import appeals
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.leads import LeadPatch, LeadsQuery, NoteCreate, StageChange

bp = Blueprint(__name__)


@bp.route("/leads", methods=["GET"], authorizer=authorize)
@endpoint
def list_leads() -> Response:
    query = parse_query(bp.current_request, LeadsQuery)
    return respond(leads.list_leads(query.limit, query.cursor, query.external_id, query.stage))


@bp.route("/leads/{lead_id}", methods=["GET"], authorizer=authorize)
@endpoint
def get_lead(lead_id: str) -> Response:
    return respond(leads.get_lead(lead_id, viewer=caller(bp.current_request)))


@bp.route("/leads/{lead_id}", methods=["PATCH"], authorizer=authorize)
@endpoint
def update_lead(lead_id: str) -> Response:
    request = bp.current_request
    return respond(leads.update_lead(lead_id, parse_body(request, LeadPatch), viewer=caller(request)))


@bp.route("/leads/{lead_id}/stage", methods=["POST"], authorizer=authorize)
@endpoint
def change_stage(lead_id: str) -> Response:
    request = bp.current_request
    return respond(leads.change_stage(lead_id, parse_body(request, StageChange).stage, viewer=caller(request)))


@bp.route("/leads/{lead_id}/transfer", methods=["POST"], authorizer=authorize)
@endpoint
def transfer_lead(lead_id: str) -> Response:
    return respond(transfer.transfer_lead(lead_id, viewer=caller(bp.current_request)), 201)


@bp.route("/leads/{lead_id}/analyze", methods=["POST"], authorizer=authorize)
@endpoint
def analyze_lead(lead_id: str) -> Response:
    # The scorers load with the first route that scores, not with every function (cold start).
    from chalicelib.scoring.service import analyze_lead as analyze

    return respond(analyze(lead_id))


@bp.route("/leads/{lead_id}/history", methods=["GET"], authorizer=authorize)
@endpoint
def lead_history(lead_id: str) -> Response:
    return respond(leads.get_history(lead_id))


@bp.route("/leads/{lead_id}/appeals", methods=["GET"], authorizer=authorize)
@endpoint
def list_lead_appeals(lead_id: str) -> Response:
    query = parse_query(bp.current_request, PageQuery)
    return respond(appeals.list_lead_appeals(lead_id, query.limit, query.cursor))


@bp.route("/leads/{lead_id}/notes", methods=["POST"], authorizer=authorize)
@endpoint
def add_note(lead_id: str) -> Response:
    request = bp.current_request
    return respond(notes.add_note(lead_id, parse_body(request, NoteCreate).text, viewer=caller(request)), 201)


@bp.route("/leads/{lead_id}/notes", methods=["GET"], authorizer=authorize)
@endpoint
def list_notes(lead_id: str) -> Response:
    query = parse_query(bp.current_request, PageQuery)
    return respond(notes.list_notes(lead_id, query.limit, query.cursor, viewer=caller(bp.current_request)))
