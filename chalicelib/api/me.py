from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import caller, endpoint, parse_body, parse_query, respond
from chalicelib.schemas.operators import OperatorAppealsQuery, PresenceChange
from chalicelib.services import me

bp = Blueprint(__name__)


@bp.route("/me", methods=["GET"], authorizer=authorize)
@endpoint
def who_am_i() -> Response:
    return respond(me.who_am_i(caller(bp.current_request)))


@bp.route("/me", methods=["PATCH"], authorizer=authorize)
@endpoint
def set_my_presence() -> Response:
    request = bp.current_request
    return respond(me.set_my_presence(caller(request), parse_body(request, PresenceChange)))


@bp.route("/me/appeals", methods=["GET"], authorizer=authorize)
@endpoint
def my_appeals() -> Response:
    request = bp.current_request
    query = parse_query(request, OperatorAppealsQuery)
    return respond(me.my_appeals(caller(request), query.status, query.limit, query.cursor))
