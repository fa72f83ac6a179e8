"""Queue messages prove their source: an HMAC-SHA256 over the message body.

Anyone who may `sqs:SendMessage` on the intake queue can put a body there
naming any `source_id`, so the body alone proves nothing. A bot signs each
body with its source's API key, and the intake checks the signature against
that source's row before anything is written:

    key material  SHA-256 (hex) of the API key's secret (what the sources row stores)
    signature     HMAC-SHA256(key material, body), hex, in the message attribute `leadcrm-signature`
    key id        the API key's id, in `leadcrm-key-id`

Rotation, the grace period and revocation are the API key's own. The
Telegram webhook enqueues with key id `telegram` and the stored hash of the
source's webhook secret (it has just checked that secret). One credential per
bot, nothing new to store or to deploy.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from chalicelib.access.bot_keys import PREFIX, live_key_hash
from chalicelib.access.secrets import hash_secret
from chalicelib.core.errors import Unauthorized

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.models.sources import Source

__all__ = [
    "KEY_ID_ATTRIBUTE",
    "SIGNATURE_ATTRIBUTE",
    "TELEGRAM_KEY_ID",
    "message_attributes",
    "sign_with_api_key",
    "signature",
    "verify_signature",
]

SIGNATURE_ATTRIBUTE = "leadcrm-signature"
KEY_ID_ATTRIBUTE = "leadcrm-key-id"
TELEGRAM_KEY_ID = "telegram"


def signature(body: str, key_material: str) -> str:
    return hmac.new(key_material.encode(), body.encode(), hashlib.sha256).hexdigest()


def message_attributes(key_id: str, signed: str) -> dict[str, dict[str, str]]:
    """The `MessageAttributes` of an SQS SendMessage call."""
    return {
        KEY_ID_ATTRIBUTE: {"DataType": "String", "StringValue": key_id},
        SIGNATURE_ATTRIBUTE: {"DataType": "String", "StringValue": signed},
    }


def sign_with_api_key(body: str, api_key: str) -> dict[str, dict[str, str]]:
    """What a bot adds to its SendMessage: `sqs.send_message(..., MessageAttributes=sign_with_api_key(body, key))`."""
    prefix, _source_id, key_id, secret = api_key.split(".")
    if prefix != PREFIX:
        raise ValueError("not a LeadCRM bot API key")
    return message_attributes(key_id, signature(body, hash_secret(secret)))


def verify_signature(source: Source, body: str, attributes: Mapping[str, str]) -> None:
    """Unauthorized unless the body is signed with a live key of this source (or its Telegram secret)."""
    key_id, presented = attributes.get(KEY_ID_ATTRIBUTE), attributes.get(SIGNATURE_ATTRIBUTE)
    material: str | None
    if key_id == TELEGRAM_KEY_ID:
        material = source.telegram_secret_hash
    else:
        material = live_key_hash(source, key_id) if key_id else None
    expected = signature(body, material or "")
    if not (material and presented and hmac.compare_digest(expected, presented)):
        raise Unauthorized("queue message is not signed by a live key of its source")
