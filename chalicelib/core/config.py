"""Settings read from the environment at call time, never at import time.

The Chalice test client and `chalice local` only patch the environment while a
request runs, so every reader goes through `current_settings()`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_TABLE_PREFIX = "leadcrm-dev"
DEFAULT_REGION = "us-east-1"
# Chalice needs the queue name when the handler is declared (import time). The
# deployment template points the event source at its own queue by reference.
INTAKE_QUEUE_NAME = "leadcrm-intake"
# The outgoing webhooks' delivery queue (same reason: the handler names it at import time).
WEBHOOK_QUEUE_NAME = "leadcrm-webhooks"
# A deployment names each table in `<ENTITY>_TABLE` (OPERATORS_TABLE, ...): the
# template passes each table's Ref, so a function reads the table the stack
# made, never a guess. Without one, `<TABLE_PREFIX>-<entity>` (local, tests).
TABLE_ENV_SUFFIX = "_TABLE"


def table_env_var(entity: str) -> str:
    return f"{entity.upper()}{TABLE_ENV_SUFFIX}"


@dataclass(frozen=True)
class Settings:
    table_prefix: str
    region: str
    # AWS SDK convention: when set, DynamoDB calls go to this endpoint
    # (DynamoDB Local, moto server); when unset, to AWS.
    dynamodb_endpoint: str | None
    # Where the Telegram webhook enqueues intake messages.
    intake_queue_url: str | None
    # Which scorer answers: "rules" (default), "model" (the latest trained
    # model, rules until one exists) or "llm" (Bedrock, falling back to model).
    scorer: str = "rules"
    # Bedrock model for the llm scorer, and how long a call may take.
    bedrock_model_id: str | None = None
    bedrock_timeout_seconds: float = 5.0
    # Table names set by the deployment, by entity (from `<ENTITY>_TABLE`).
    table_names: Mapping[str, str] = field(default_factory=dict)
    # The Cognito user pool people are invited to (None: no pool; locally, the dev issuer).
    user_pool_id: str | None = None

    def table_name(self, entity: str) -> str:
        return self.table_names.get(entity) or f"{self.table_prefix}-{entity}"


def _seconds(raw: str | None, default: float) -> float:
    # Every model reads the settings, so a typo here must not stop the app
    # from importing: anything but a positive number means the default.
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


def table_name(entity: str) -> str:
    """`Settings.table_name` without building the settings: PynamoDB reads a model's table
    name several times per request (two dict lookups instead of a scan of the environment)."""
    return os.environ.get(table_env_var(entity)) or f"{os.environ.get('TABLE_PREFIX') or DEFAULT_TABLE_PREFIX}-{entity}"


def dynamodb_endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def current_settings() -> Settings:
    return Settings(
        table_prefix=os.environ.get("TABLE_PREFIX") or DEFAULT_TABLE_PREFIX,
        region=region(),
        dynamodb_endpoint=dynamodb_endpoint(),
        intake_queue_url=os.environ.get("INTAKE_QUEUE_URL") or None,
        scorer=(os.environ.get("SCORER") or "rules").strip().lower(),
        bedrock_model_id=os.environ.get("BEDROCK_MODEL_ID") or None,
        bedrock_timeout_seconds=_seconds(os.environ.get("BEDROCK_TIMEOUT_SECONDS"), default=5.0),
        table_names={
            name.removesuffix(TABLE_ENV_SUFFIX).lower(): value
            for name, value in os.environ.items()
            if name.endswith(TABLE_ENV_SUFFIX) and value
        },
        user_pool_id=(os.environ.get("USER_POOL_ID") or "").strip() or None,
    )
