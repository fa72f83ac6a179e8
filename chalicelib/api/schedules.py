from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import caller, endpoint, parse_body, parse_query, respond
from chalicelib.directory import me, shifts
from chalicelib.schemas.schedules import WeeklySchedule
from chalicelib.schemas.shifts import WeekQuery

bp = Blueprint(__name__)


@bp.route("/operators/{operator_id}/schedule", methods=["GET"], authorizer=authorize)
@endpoint
def get_schedule(operator_id: str) -> Response:
    return respond(shifts.get_schedule(operator_id, viewer=caller(bp.current_request)))


@bp.route("/operators/{operator_id}/schedule", methods=["PUT"], authorizer=authorize)
@endpoint
def put_schedule(operator_id: str) -> Response:
    request = bp.current_request
    return respond(shifts.put_schedule(operator_id, parse_body(request, WeeklySchedule), viewer=caller(request)))


@bp.route("/operators/{operator_id}/schedule", methods=["DELETE"], authorizer=authorize)
@endpoint
def delete_schedule(operator_id: str) -> Response:
    shifts.delete_schedule(operator_id, viewer=caller(bp.current_request))
    return Response(body="", status_code=204)


@bp.route("/me/schedule", methods=["GET"], authorizer=authorize)
@endpoint
def get_my_schedule() -> Response:
    viewer = caller(bp.current_request)
    return respond(shifts.get_schedule(me.own_operator_id(viewer), viewer=viewer))


@bp.route("/me/schedule", methods=["PUT"], authorizer=authorize)
@endpoint
def put_my_schedule() -> Response:
    request = bp.current_request
    viewer = caller(request)
    schedule = parse_body(request, WeeklySchedule)
    return respond(shifts.put_schedule(me.own_operator_id(viewer), schedule, viewer=viewer))


@bp.route("/me/schedule", methods=["DELETE"], authorizer=authorize)
@endpoint
def delete_my_schedule() -> Response:
    viewer = caller(bp.current_request)
    shifts.delete_schedule(me.own_operator_id(viewer), viewer=viewer)
    return Response(body="", status_code=204)


@bp.route("/schedules/week", methods=["GET"], authorizer=authorize)
@endpoint
def week() -> Response:
    request = bp.current_request
    return respond(shifts.week_of(parse_query(request, WeekQuery).start, viewer=caller(request)))
