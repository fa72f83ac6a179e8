"""One handler per stream, several consumers: a stream batch goes to each consumer in turn.

Lambda gives a stream one event source per function, and the appeals stream has
two consumers: the source aggregates (`directory.aggregates`) and the
notifications (`consume_appeal_records`). Each is idempotent on its own terms
(the aggregates by their per-shard mark, the notifications by their sent
marker), so a batch that failed in one consumer can be redelivered whole:
the other consumer's work is not done twice. Every consumer runs even when an
earlier one failed (a broken Bot API does not hold the stats back), then the
batch fails with the first error, so Lambda retries it with bisect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.core.observability import logger
from chalicelib.directory.aggregates import apply_appeal_records
from chalicelib.events.consumer import consume_appeal_records, consume_lead_records
from chalicelib.insight.feed import apply_appeal_analytics, apply_lead_analytics

__all__ = ["APPEAL_CONSUMERS", "LEAD_CONSUMERS", "Consumer", "StreamBatch", "dispatch"]


@dataclass(frozen=True)
class StreamBatch:
    """A Lambda stream event: its records, and the shard they come from (`shardId`,
    sent with a tumbling window; see .chalice/resources.json)."""

    records: list[dict[str, Any]]
    shard_id: str

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> StreamBatch:
        return cls(list(event.get("Records") or []), str(event.get("shardId") or ""))


Consumer = tuple[str, Callable[[StreamBatch], object]]


def _aggregates(batch: StreamBatch) -> None:
    apply_appeal_records(batch.records, shard_id=batch.shard_id)


def _appeal_analytics(batch: StreamBatch) -> None:
    apply_appeal_analytics(batch.records, shard_id=batch.shard_id)


def _lead_analytics(batch: StreamBatch) -> None:
    apply_lead_analytics(batch.records, shard_id=batch.shard_id)


def _appeal_notifications(batch: StreamBatch) -> None:
    consume_appeal_records(batch.records)


def _lead_notifications(batch: StreamBatch) -> None:
    consume_lead_records(batch.records)


APPEAL_CONSUMERS: tuple[Consumer, ...] = (
    ("aggregates", _aggregates),
    ("analytics", _appeal_analytics),
    ("notifications", _appeal_notifications),
)
LEAD_CONSUMERS: tuple[Consumer, ...] = (("analytics", _lead_analytics), ("notifications", _lead_notifications))


def dispatch(batch: StreamBatch, consumers: tuple[Consumer, ...]) -> None:
    """Hands the batch to every consumer; raises the first failure once all have run."""
    if not batch.records:
        return  # a tumbling window's closing call carries no records
    errors: list[Exception] = []
    for name, consume in consumers:
        try:
            consume(batch)
        except Exception as error:
            logger.warning(
                "stream consumer failed; the batch will be retried",
                extra={"consumer": name, "shard_id": batch.shard_id, "error": type(error).__name__},
            )
            errors.append(error)
    if errors:
        raise errors[0]
