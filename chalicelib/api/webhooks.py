"""Outgoing webhooks (admins only): subscribe, list, inspect, delete, test, read deliveries."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import endpoint, parse_body, parse_query, respond
from chalicelib.channels import webhooks
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.webhooks import WebhookCreate

bp = Blueprint(__name__)


@bp.route("/webhooks", methods=["POST"], authorizer=authorize)
@endpoint
def create_webhook() -> Response:
    return respond(webhooks.create_webhook(parse_body(bp.current_request, WebhookCreate)), 201)


@bp.route("/webhooks", methods=["GET"], authorizer=authorize)
@endpoint
def list_webhooks() -> Response:
    query = parse_query(bp.current_request, PageQuery)
    return respond(webhooks.list_webhooks(query.limit, query.cursor))


@bp.route("/webhooks/{webhook_id}", methods=["GET"], authorizer=authorize)
@endpoint
def get_webhook(webhook_id: str) -> Response:
    return respond(webhooks.get_webhook(webhook_id))


@bp.route("/webhooks/{webhook_id}", methods=["DELETE"], authorizer=authorize)
@endpoint
def delete_webhook(webhook_id: str) -> Response:
    webhooks.delete_webhook(webhook_id)
    return Response(body="", status_code=204)


@bp.route("/webhooks/{webhook_id}/test", methods=["POST"], authorizer=authorize)
@endpoint
def test_webhook(webhook_id: str) -> Response:
    return respond(webhooks.send_test(webhook_id))


@bp.route("/webhooks/{webhook_id}/deliveries", methods=["GET"], authorizer=authorize)
@endpoint
def list_deliveries(webhook_id: str) -> Response:
    query = parse_query(bp.current_request, PageQuery)
    return respond(webhooks.list_deliveries(webhook_id, query.limit, query.cursor))
