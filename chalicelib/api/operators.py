from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import endpoint, parse_body, parse_query, respond
from chalicelib.directory import operators
from chalicelib.routing import appeals
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.operators import OperatorAppealsQuery, OperatorCreate, OperatorPatch, OperatorUpdateQuery

bp = Blueprint(__name__)


@bp.route("/operators", methods=["POST"], authorizer=authorize)
@endpoint
def create_operator() -> Response:
    return respond(operators.create_operator(parse_body(bp.current_request, OperatorCreate)), 201)


@bp.route("/operators", methods=["GET"], authorizer=authorize)
@endpoint
def list_operators() -> Response:
    query = parse_query(bp.current_request, PageQuery)
    return respond(operators.list_operators(query.limit, query.cursor))


@bp.route("/operators/{operator_id}", methods=["GET"], authorizer=authorize)
@endpoint
def get_operator(operator_id: str) -> Response:
    return respond(operators.get_operator(operator_id))


@bp.route("/operators/{operator_id}", methods=["PATCH"], authorizer=authorize)
@endpoint
def update_operator(operator_id: str) -> Response:
    query = parse_query(bp.current_request, OperatorUpdateQuery)
    patch = parse_body(bp.current_request, OperatorPatch)
    return respond(operators.update_operator(operator_id, patch, redistribute=query.redistribute))


@bp.route("/operators/{operator_id}/appeals", methods=["GET"], authorizer=authorize)
@endpoint
def list_operator_appeals(operator_id: str) -> Response:
    query = parse_query(bp.current_request, OperatorAppealsQuery)
    return respond(appeals.list_operator_appeals(operator_id, query.status, query.limit, query.cursor))
