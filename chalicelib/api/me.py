from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import caller, endpoint, parse_body, parse_query, respond
from chalicelib.directory import me
from chalicelib.schemas.operators import OperatorAppealsQuery, PresenceChange

bp = Blueprint(__name__)


@bp.route("/me", methods=["GET"], authorizer=authorize)
@endpoint
def who_am_i() -> Response:
    return respond(me.who_am_i(viewer=caller(bp.current_request)))


@bp.route("/me", methods=["PATCH"], authorizer=authorize)
@endpoint
def set_my_presence() -> Response:
    request = bp.current_request
    return respond(me.set_my_presence(parse_body(request, PresenceChange), viewer=caller(request)))


@bp.route("/me/appeals", methods=["GET"], authorizer=authorize)
@endpoint
def my_appeals() -> Response:
    request = bp.current_request
    query = parse_query(request, OperatorAppealsQuery)
    return respond(me.my_appeals(query.status, query.limit, query.cursor, viewer=caller(request)))
