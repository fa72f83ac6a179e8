from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.http import endpoint, parse_body, respond
from chalicelib.channels import telegram
from chalicelib.schemas.telegram import TelegramUpdate

bp = Blueprint(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@bp.route("/channels/telegram/{source_id}", methods=["POST"])
@endpoint
def telegram_webhook(source_id: str) -> Response:
    # The secret is checked before the body is read, and an unknown source
    # answers like a wrong secret: strangers learn nothing.
    secret_hash = telegram.verify_secret(source_id, bp.current_request.headers.get(SECRET_HEADER))
    update = parse_body(bp.current_request, TelegramUpdate)
    return respond(telegram.accept_update(source_id, update, secret_hash=secret_hash))
