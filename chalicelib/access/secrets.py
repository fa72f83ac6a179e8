"""Secrets we must recognise but never store, and bot tokens we keep write-only."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import Any

from chalicelib.core.config import current_settings

__all__ = ["bot_token_parameter", "forget_bot_token", "hash_secret", "read_bot_token", "store_bot_token"]


def hash_secret(token: str) -> str:
    # Webhook tokens are random and high-entropy (not passwords): a plain
    # digest is enough to make a stolen table useless for forging requests.
    return hashlib.sha256(token.encode()).hexdigest()


# --- bot tokens: write-only ------------------------------------------------------------
# A source's Telegram bot token is needed to send, so it is kept (unlike the
# webhook secret) but only in SSM Parameter Store as a SecureString: never in a
# table, never in an answer, never in a log line. In AWS the functions' role may
# read and write only the parameters under the stack's prefix; locally and in
# tests `AWS_ENDPOINT_URL_SSM` (moto) stands in for the service.


def bot_token_parameter(source_id: str) -> str:
    # The template sets SOURCE_BOT_TOKENS_PATH to /<stack name>/sources, the only path its role may touch.
    base = os.environ.get("SOURCE_BOT_TOKENS_PATH") or f"/{current_settings().table_prefix}/sources"
    return f"{base.rstrip('/')}/{source_id}/telegram-bot-token"


@lru_cache(maxsize=4)
def _ssm(region: str) -> Any:
    import boto3  # only the functions that send or connect pay for it

    return boto3.session.Session().client("ssm", region_name=region)


def store_bot_token(source_id: str, token: str) -> None:
    _ssm(current_settings().region).put_parameter(
        Name=bot_token_parameter(source_id), Value=token, Type="SecureString", Overwrite=True
    )


def read_bot_token(source_id: str) -> str | None:
    client = _ssm(current_settings().region)
    try:
        found = client.get_parameter(Name=bot_token_parameter(source_id), WithDecryption=True)
    except client.exceptions.ParameterNotFound:
        return None
    return str(found["Parameter"]["Value"])


def forget_bot_token(source_id: str) -> None:
    client = _ssm(current_settings().region)
    try:
        client.delete_parameter(Name=bot_token_parameter(source_id))
    except client.exceptions.ParameterNotFound:
        return
