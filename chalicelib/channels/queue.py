"""Channel intake: one queue message becomes (at most) one appeal."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chalicelib.access.principal import Principal
from chalicelib.access.queue_signing import message_attributes, signature, verify_signature
from chalicelib.core.config import current_settings
from chalicelib.core.errors import FieldProblem, InvalidInput, MalformedInput
from chalicelib.models.sources import get_source_row
from chalicelib.routing.intake import Intake, submit_appeal
from chalicelib.schemas.intake import IntakeMessageV1

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["enqueue", "ingest", "parse_message"]


def parse_message(raw: str) -> IntakeMessageV1:
    """Validates a queue message. Errors carry field paths and reasons only,
    never the values, so they are safe to log (no text, no contacts)."""
    try:
        return IntakeMessageV1.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise MalformedInput("message body is not valid JSON") from None
        problems = [FieldProblem(loc=_safe_loc(error), msg=error["msg"], type=error["type"]) for error in errors]
        raise InvalidInput("intake message does not match schema v1", problems) from None


def _safe_loc(error: Any) -> tuple[str | int, ...]:
    # An unknown key is named by the sender and may itself be personal data.
    if error["type"] == "extra_forbidden":
        return (*error["loc"][:-1], "<unknown field>")
    return tuple(error["loc"])


def ingest(raw: str, attributes: Mapping[str, str]) -> Intake:
    """Records the message as an appeal; a redelivered message changes nothing.

    Whoever may send to the queue could name any source in a body, so the
    body must be signed by a live key of the source it names (checked before
    anything is written), and the message then acts as that source's bot,
    never as the system."""
    message = parse_message(raw)
    source = get_source_row(message.source_id)
    verify_signature(source, raw, attributes)
    bot = Principal(role="bot", subject=f"source:{source.source_id}", source_id=source.source_id)
    return submit_appeal(message.to_appeal(), viewer=bot, source=source)


@lru_cache(maxsize=4)
def _sqs(region: str) -> Any:
    # Imported here: only the Telegram webhook enqueues, and boto3 (pynamodb
    # needs botocore alone) is cold-start time every other function would pay.
    import boto3

    # boto3 honours AWS_ENDPOINT_URL_SQS itself (local stack, tests).
    return boto3.session.Session().client("sqs", region_name=region)


def enqueue(message: IntakeMessageV1, *, key_id: str, key_material: str) -> str:
    """Puts an intake message on the queue, signed (`access.queue_signing`); returns the SQS message id."""
    settings = current_settings()
    if not settings.intake_queue_url:
        raise RuntimeError("INTAKE_QUEUE_URL is not configured")
    body = json.dumps(message.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
    signed = message_attributes(key_id, signature(body, key_material))
    sent = _sqs(settings.region).send_message(
        QueueUrl=settings.intake_queue_url, MessageBody=body, MessageAttributes=signed
    )
    return str(sent["MessageId"])
