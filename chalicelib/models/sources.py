from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.db.tables import TableMeta, TableName


class SourcesNewestFirst(GlobalSecondaryIndex["Source"]):
    class Meta:
        index_name = "newest_first"
        # Keys only: rows change on every appeal, an index copy would too.
        projection = KeysOnlyProjection()

    listed = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ApiKey(MapAttribute):
    """A bot's key for this source: only the SHA-256 of its secret is stored."""

    key_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # Set when a newer key replaced this one (the grace period's end) or on revocation.
    expires_at = UnicodeAttribute(null=True)


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
    # SHA-256 of the Telegram webhook secret; the secret itself is never stored.
    telegram_secret_hash = UnicodeAttribute(null=True)
    # Bot API keys, newest last; a rotation keeps the previous ones for a grace period.
    api_keys = ListAttribute(of=ApiKey, null=True)
    # Bumped by every key change, under a condition: two rotations never merge.
    api_keys_version = NumberAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    listed = UnicodeAttribute()

    newest_first = SourcesNewestFirst()
