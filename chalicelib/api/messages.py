"""An appeal's conversation (read, reply, delivery reports) and connecting a source's Telegram bot."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import caller, endpoint, parse_body, parse_query, respond
from chalicelib.channels import lead_replies, source_bots
from chalicelib.core.errors import NotFound
from chalicelib.routing import conversation
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.messages import DeliveryReport, ReplyCreate
from chalicelib.schemas.telegram import TelegramConnect

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalice.app import Request

bp = Blueprint(__name__)

# The API's public base URL, stage included (`https://<id>.execute-api.<region>.amazonaws.com/api`,
# or a tunnel's URL locally): where Telegram is told to send a connected bot's updates.
PUBLIC_API_URL = "PUBLIC_API_URL"


@bp.route("/appeals/{appeal_id}/messages", methods=["GET"], authorizer=authorize)
@endpoint
def list_messages(appeal_id: str) -> Response:
    query = parse_query(bp.current_request, PageQuery)
    return respond(conversation.list_messages(appeal_id, query.limit, query.cursor, viewer=caller(bp.current_request)))


@bp.route("/appeals/{appeal_id}/messages", methods=["POST"], authorizer=authorize)
@endpoint
def reply(appeal_id: str) -> Response:
    request = bp.current_request
    message, created = lead_replies.send_reply(appeal_id, parse_body(request, ReplyCreate), viewer=caller(request))
    # The same client_message_id again answers 200 with the message it made.
    return respond(message, 201 if created else 200)


@bp.route("/appeals/{appeal_id}/messages/{message_id}/status", methods=["POST"], authorizer=authorize)
@endpoint
def report_delivery(appeal_id: str, message_id: str) -> Response:
    request = bp.current_request
    if not message_id.isdigit() or not 0 < int(message_id) < 10**6:
        raise NotFound(f"appeal {appeal_id!r} has no outbound message {message_id[:20]!r}")
    report = parse_body(request, DeliveryReport)
    return respond(lead_replies.report_delivery(appeal_id, int(message_id), report, viewer=caller(request)))


@bp.route("/sources/{source_id}/telegram/connect", methods=["POST"], authorizer=authorize)
@endpoint
def connect_telegram(source_id: str) -> Response:
    body = parse_body(bp.current_request, TelegramConnect)
    return respond(source_bots.connect(source_id, body.bot_token, api_base_url=_public_base(bp.current_request)))


@bp.route("/sources/{source_id}/telegram/connect", methods=["DELETE"], authorizer=authorize)
@endpoint
def disconnect_telegram(source_id: str) -> Response:
    source_bots.disconnect(source_id)
    return Response(body="", status_code=204)


def _public_base(request: Request) -> str:
    """PUBLIC_API_URL when set; else the URL this request came in on (API Gateway: its domain and stage)."""
    configured = os.environ.get(PUBLIC_API_URL)
    if configured:
        return configured.rstrip("/")
    context = request.context or {}
    headers: Mapping[str, str] = request.headers or {}
    host = context.get("domainName") or headers.get("host") or "localhost"
    stage = context.get("stage")
    scheme = headers.get("x-forwarded-proto") or ("https" if stage else "http")
    # API Gateway's own domain carries the stage in the path; a custom domain maps it away.
    prefix = f"/{stage}" if stage and str(host).endswith(".amazonaws.com") else ""
    return f"{scheme}://{host}{prefix}"
