from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import endpoint, parse_query, respond
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.leads import LeadsQuery
from chalicelib.services import leads

bp = Blueprint(__name__)


@bp.route("/leads", methods=["GET"])
@endpoint
def list_leads() -> Response:
    query = parse_query(bp.current_request, LeadsQuery)
    return respond(leads.list_leads(query.limit, query.cursor, query.external_id))


@bp.route("/leads/{lead_id}", methods=["GET"])
@endpoint
def get_lead(lead_id: str) -> Response:
    return respond(leads.get_lead(lead_id))


@bp.route("/leads/{lead_id}/appeals", methods=["GET"])
@endpoint
def list_lead_appeals(lead_id: str) -> Response:
    query = parse_query(bp.current_request, PageQuery)
    return respond(leads.list_lead_appeals(lead_id, query.limit, query.cursor))
