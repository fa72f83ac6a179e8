from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import endpoint, parse_body, parse_query, respond
from chalicelib.funnel import deals
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.leads import DealStageChange

bp = Blueprint(__name__)


@bp.route("/deals", methods=["GET"], authorizer=authorize)
@endpoint
def list_deals() -> Response:
    query = parse_query(bp.current_request, PageQuery)
    return respond(deals.list_deals(query.limit, query.cursor))


@bp.route("/deals/{deal_id}", methods=["GET"], authorizer=authorize)
@endpoint
def get_deal(deal_id: str) -> Response:
    return respond(deals.get_deal(deal_id))


@bp.route("/deals/{deal_id}/stage", methods=["POST"], authorizer=authorize)
@endpoint
def change_deal_stage(deal_id: str) -> Response:
    return respond(deals.change_deal_stage(deal_id, parse_body(bp.current_request, DealStageChange).stage))
