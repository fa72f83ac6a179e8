from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import jobs
from chalicelib.api.auth import authorize
from chalicelib.api.http import endpoint, respond

bp = Blueprint(__name__)


@bp.route("/admin/jobs/{name}/run", methods=["POST"], authorizer=authorize)
@endpoint
def run_job(name: str) -> Response:
    # The scheduled jobs, now: for demos, tests and an operator in a hurry.
    return respond(jobs.run_job(name))
