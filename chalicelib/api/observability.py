"""Every HTTP request runs inside one observed invocation: its log lines carry
the API Gateway request id (the `x-amzn-RequestId` a client sees), and the
metrics it recorded are flushed once when it ends.

Chalice applies middleware registered on a blueprint to the whole app."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from chalice.app import Blueprint, Request, Response

from chalicelib.core.observability import invocation, logger

if TYPE_CHECKING:
    from collections.abc import Callable

bp = Blueprint(__name__)


def request_id(request: Request) -> str | None:
    # `chalice local` and the test client send no requestId; Lambda's own
    # request id is the next best thing to find the request's lines by.
    found = (request.context or {}).get("requestId")
    if found:
        return str(found)
    return getattr(request.lambda_context, "aws_request_id", None)


@bp.middleware("http")
def observe(event: Request, get_response: Callable[[Request], Response]) -> Response:
    with invocation(request_id(event)):
        started = time.perf_counter()
        response = get_response(event)
        # API Gateway's access log has every request; ours adds the failures
        # (debug level shows them all). The route template, never the path,
        # which may hold a caller's value.
        failed = response.status_code >= 500
        if failed or logger.log_level <= logging.DEBUG:
            (logger.warning if failed else logger.debug)(
                "request handled",
                extra={
                    "method": event.method,
                    "route": (event.context or {}).get("resourcePath"),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        return response
