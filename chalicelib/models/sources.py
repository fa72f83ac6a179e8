"""The sources table and every query on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.operand import Path
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.db.rows import get_row, newest_first
from chalicelib.db.tables import LISTED, TableMeta, TableName, Word

__all__ = [
    "ApiKey",
    "Source",
    "Strategy",
    "add_stream_batch",
    "all_sources",
    "get_source_row",
    "padded_sequence",
    "sources_by_id",
    "sources_newest_first",
    "stream_mark",
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
    """A channel bot, its routing strategy and its appeal aggregates.

    `appeals_total` and `waiting_count` are aggregated from the appeals stream,
    one update per source per stream batch (`add_stream_batch`), never by the
    transactions that create, assign and close appeals: an item written by
    every intake of a source would cap it at one item's transaction rate.
    `aggregates_as_of` says how fresh they are.
    """

    class Meta(TableMeta):
        table_name = TableName("sources")

    source_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    strategy = UnicodeAttribute()
    appeals_total = NumberAttribute(default=0)
    waiting_count = NumberAttribute(default=0)
    # When the newest appeal change counted in the aggregates happened (None: none yet).
    aggregates_as_of = UnicodeAttribute(null=True)
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
    # Let the daily auto-tune job move the weights toward the suggestions (±20 % a day at most).
    auto_tune = BooleanAttribute(null=True)
    # Leads scored at or above `score_threshold` are drawn with weight × the operator's conversion estimate.
    score_aware = BooleanAttribute(null=True)
    score_threshold = NumberAttribute(null=True)
    # At an operator's shift end its accepted appeals from this source go back too (default: they stay).
    return_accepted_at_shift_end = BooleanAttribute(null=True)
    # Skills every appeal of this source requires, and after how long in the line anyone may take it.
    required_tags = UnicodeSetAttribute(null=True)
    fallback_after_seconds = NumberAttribute(null=True)
    # The line's order (chalicelib/routing/line_order.LineOrder as JSON); None: fifo.
    line_order = UnicodeAttribute(null=True)
    # Follow-up after accept (routing/followup.py): quiet seconds before a reminder, and again
    # before `followup_action` (escalate | return_to_line); None: no follow-up.
    followup_seconds = NumberAttribute(null=True)
    followup_action = UnicodeAttribute(null=True)
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


def sources_by_id(source_ids: list[str]) -> list[Source]:
    """The rows of these sources (unknown ids are left out): one batched read."""
    if not source_ids:
        return []
    return list(Source.batch_get(source_ids, consistent_read=True))


# Stream sequence numbers are decimal strings of up to 40 digits: padded, they compare as strings.
_SEQUENCE_DIGITS = 40
# A stream keeps records 24 hours: a shard's mark older than that can never be tested again.
_STREAM_RETENTION = timedelta(hours=24)
_MARK_PREFIX = "stream_mark_"


def _mark(shard_id: str) -> Path:
    # One attribute per stream shard (sequence numbers are ordered only within a shard).
    return Path([_MARK_PREFIX + "".join(c if c.isalnum() else "_" for c in shard_id)])


def padded_sequence(sequence: str) -> str:
    """A stream sequence number in a form that compares as a string."""
    return sequence.zfill(_SEQUENCE_DIGITS)


def stream_mark(source_id: str, shard_id: str) -> str | None:
    """The source's mark for a shard (`<padded sequence>|<as_of>`, "" when none); None
    when the source is gone."""
    name = _mark(shard_id)
    row = Source._get_connection().get_item(source_id, consistent_read=True, attributes_to_get=[name.path[0]])
    item = row.get("Item")
    if item is None:
        return None
    return str(item.get(name.path[0], {}).get("S", ""))


def add_stream_batch(
    source_id: str,
    shard_id: str,
    first: str,
    last: str,
    *,
    received: int,
    waiting: int,
    as_of: str,
    expected_mark: str | None = None,
) -> bool:
    """Adds one stream batch's changes to the source's aggregates, once.

    Conditional on the shard's mark being below the batch's first record (or,
    with `expected_mark`, on the mark still being that value), and moving the
    mark to its last: a redelivered batch, or a half of a bisected one, holds
    only records at or below the mark and changes nothing. The mark is
    `<padded sequence>|<as_of>`: it still compares as the sequence number, and
    says when it was set so marks of shards past the stream's retention can be
    dropped. False when refused (counted before, or the source is gone)."""
    mark = _mark(shard_id)
    if expected_mark is None:
        guard = mark.does_not_exist() | (mark < padded_sequence(first))
    elif expected_mark == "":
        guard = mark.does_not_exist()
    else:
        guard = mark == expected_mark
    try:
        answer = Source._get_connection().update_item(
            source_id,
            actions=[
                Source.appeals_total.add(received),
                Source.waiting_count.add(waiting),
                Source.aggregates_as_of.set(as_of),
                mark.set(f"{padded_sequence(last)}|{as_of}"),
            ],
            condition=Source.source_id.exists() & guard,
            return_values="ALL_NEW",
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    _drop_expired_marks(source_id, answer.get("Attributes", {}), as_of)
    return True


def _drop_expired_marks(source_id: str, attributes: dict[str, Any], now: str) -> None:
    """Marks of shards that have had no record for longer than the stream keeps
    records: removed (rare, a shard rolls over every few hours), so the row stays small."""
    horizon = (datetime.fromisoformat(now.replace("Z", "+00:00")) - _STREAM_RETENTION).strftime("%Y-%m-%dT%H:%M:%SZ")
    expired = {
        name: value["S"]
        for name, value in attributes.items()
        if name.startswith(_MARK_PREFIX) and value.get("S", "").partition("|")[2] < horizon
    }
    if not expired:
        return
    condition = Source.source_id.exists()
    for name, value in expired.items():
        condition &= Path([name]) == value  # a mark that moved meanwhile is live: keep it
    try:
        Source(source_id).update(actions=[Path([name]).remove() for name in expired], condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
