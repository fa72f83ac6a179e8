"""Identifiers and timestamps.

Generated ids are time-sortable (hex milliseconds + randomness) so that their
order follows creation. Lead and channel-appeal ids are *derived*, so that
get-or-create and idempotent intake are a single conditional write.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from datetime import UTC, datetime

# Anything we ever hand out matches this; other strings cannot name an entity,
# so they are answered 404 without a database round trip.
ID_PATTERN = re.compile(r"^[a-z]{2,4}_[a-z0-9]{10,40}$")


def new_id(prefix: str) -> str:
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{millis:012x}{secrets.token_hex(6)}"


def _digest(*parts: str) -> str:
    # Unit separator keeps ("a", "bc") and ("ab", "c") apart.
    raw = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return base64.b32encode(raw).decode().rstrip("=").lower()[:26]


def lead_id_for(external_id: str) -> str:
    return f"ld_{_digest('lead', external_id)}"


def appeal_id_for_message(source_id: str, message_id: str) -> str:
    return f"ap_{_digest('appeal', source_id, message_id)}"


def is_well_formed(entity_id: str) -> bool:
    return bool(ID_PATTERN.match(entity_id))


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with fixed microsecond width, so strings sort like times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
