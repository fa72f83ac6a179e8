"""The operator bot's webhook and the operators' Telegram links."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.auth import authorize
from chalicelib.api.http import caller, endpoint, parse_body, respond
from chalicelib.channels import operator_bot
from chalicelib.schemas.operator_bot import BotAck, OperatorBotUpdate

bp = Blueprint(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@bp.route("/telegram/operator-bot", methods=["POST"])
@endpoint
def operator_bot_webhook() -> Response:
    # The secret is checked before the body is read: a stranger learns nothing and changes nothing.
    operator_bot.verify_secret(bp.current_request.headers.get(SECRET_HEADER))
    operator_bot.handle_update(parse_body(bp.current_request, OperatorBotUpdate).model_dump(by_alias=True))
    return respond(BotAck(ok=True))


@bp.route("/operators/{operator_id}/telegram-link", methods=["POST"], authorizer=authorize)
@endpoint
def create_telegram_link(operator_id: str) -> Response:
    return respond(operator_bot.issue_link(operator_id, viewer=caller(bp.current_request)), 201)


@bp.route("/operators/{operator_id}/telegram-link", methods=["DELETE"], authorizer=authorize)
@endpoint
def delete_telegram_link(operator_id: str) -> Response:
    operator_bot.unlink(operator_id)
    return Response(body="", status_code=204)
