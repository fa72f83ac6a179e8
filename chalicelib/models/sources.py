"""The sources table and every query on it."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.db.rows import get_row, newest_first
from chalicelib.db.tables import LISTED, TableMeta, TableName, Word

__all__ = [
    "ApiKey",
    "Source",
    "Strategy",
    "all_sources",
    "get_source_row",
    "sources_newest_first",
    "sources_with_waiting",
]


class Strategy(Word):
    """How a source draws among its operators."""

    # probability ∝ weight among available operators
    WEIGHTED = "weighted"
    # probability ∝ weight × free capacity (max_load − current_load)
    WEIGHTED_CAPACITY = "weighted_capacity"


class SourcesNewestFirst(GlobalSecondaryIndex["Source"]):
    class Meta:
        index_name = "newest_first"
        # Keys only: rows change on every appeal, an index copy would too.
        projection = KeysOnlyProjection()

    listed = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ApiKey(MapAttribute[str, Any]):
    """A bot's key for this source: only the SHA-256 of its secret is stored."""

    key_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # Set when a newer key replaced this one (the grace period's end) or on revocation.
    expires_at = UnicodeAttribute(null=True)

    def __init__(self, **attributes: Any) -> None:  # typed: PynamoDB's is not
        super().__init__(**attributes)  # type: ignore[no-untyped-call]


class Source(Model):
    """A channel bot, its routing strategy and its appeal counters.

    `appeals_total` and `waiting_count` move in the same transactions that
    create, assign and close appeals, so stats never count rows.
    """

    class Meta(TableMeta):
        table_name = TableName("sources")

    source_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    strategy = UnicodeAttribute()
    appeals_total = NumberAttribute(default=0)
    waiting_count = NumberAttribute(default=0)
    # Bumped (conditionally) by every weight-set replacement: concurrent
    # replacements serialise instead of merging.
    weights_version = NumberAttribute(default=0)
    # Seconds an operator has to accept an appeal before it is reassigned (None: no SLA).
    response_sla_seconds = NumberAttribute(null=True)
    # Returning leads go to their last operator first; a new message on an
    # open appeal attaches to it.
    sticky = BooleanAttribute(default=False)
    # Points the rules scorer adds to (or takes from) this source's leads.
    lead_points = NumberAttribute(default=0)
    # The external id namespaces this source may speak for (`tg:`); none: any.
    external_id_prefixes = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    # SHA-256 of the Telegram webhook secret; the secret itself is never stored.
    telegram_secret_hash = UnicodeAttribute(null=True)
    # The source's own Telegram bot, once connected (its token lives in SSM, never here).
    telegram_bot_username = UnicodeAttribute(null=True)
    telegram_bot_id = NumberAttribute(null=True)
    # Bot API keys, newest last; a rotation keeps the previous ones for a grace period.
    api_keys = ListAttribute(of=ApiKey, null=True)
    # Bumped by every key change, under a condition: two rotations never merge.
    api_keys_version = NumberAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    listed = UnicodeAttribute()

    newest_first = SourcesNewestFirst()


def get_source_row(source_id: str) -> Source:
    # Consistent: a bot or webhook right after the source was created or its secret set must see it.
    return get_row(Source, source_id, "source")


def sources_newest_first(limit: int, cursor: str | None) -> tuple[list[Source], str | None]:
    return newest_first(Source, Source.newest_first, LISTED, limit, cursor)


def all_sources() -> list[Source]:
    """Every source: a Query of the listing index, then batched reads (never a Scan)."""
    keys = [row.source_id for row in Source.newest_first.query(LISTED)]
    return list(Source.batch_get(keys, consistent_read=True)) if keys else []


def sources_with_waiting(source_ids: list[str]) -> list[Source]:
    """Those of the sources whose waiting line is not empty."""
    if not source_ids:
        return []
    return [s for s in Source.batch_get(source_ids, consistent_read=True) if int(s.waiting_count or 0) > 0]
