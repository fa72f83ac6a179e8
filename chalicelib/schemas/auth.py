from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.schemas.common import Input, Output
from chalicelib.schemas.operators import OperatorOut

# A week: long enough for a bot's deploy pipeline, short enough that a leaked key dies.
MAX_KEY_GRACE_SECONDS = 7 * 24 * 3600


class MeOut(Output):
    role: Literal["admin", "operator", "bot"]
    subject: str = Field(description="The token's `sub` (for a bot key: source:<id>)")
    operator: OperatorOut | None = Field(description="The caller's operator profile, when the token names one")
    source_id: str | None = Field(default=None, description="For a bot key: the source it may post appeals to")


class ApiKeyRotation(Input):
    previous_keys_valid_for_seconds: int = Field(
        default=24 * 3600,
        ge=0,
        le=MAX_KEY_GRACE_SECONDS,
        description="How long the keys issued before this one keep working (0: revoke them now)",
    )


class ApiKeyOut(Output):
    key_id: str
    created_at: str
    expires_at: str | None = Field(description="Set once a newer key replaced this one")


class ApiKeyIssued(ApiKeyOut):
    api_key: str = Field(
        description="Shown once: only its SHA-256 is stored. Send as `Authorization: Bearer <api_key>`"
    )


class ApiKeyList(Output):
    source_id: str
    keys: list[ApiKeyOut]
