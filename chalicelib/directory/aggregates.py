"""A source's appeal totals, aggregated from the appeals stream: one update per
source per stream batch, idempotent across redelivered and bisected batches.

Intake and the transitions write no per-source item (issue 15): the stream
carries every appeal change with its old and new image, and this consumer
turns a batch of them into one `add_stream_batch` per source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.models.sources import add_stream_batch

__all__ = ["SourceDelta", "apply_appeal_records", "source_deltas"]

_WAITING = "waiting"


@dataclass
class SourceDelta:
    """What one batch changes in one source's aggregates."""

    first: str
    last: str
    received: int = 0
    waiting: int = 0
    as_of: str = ""


def _string(image: dict[str, Any] | None, name: str) -> str | None:
    value = (image or {}).get(name)
    return value.get("S") if isinstance(value, dict) else None


def _when(change: dict[str, Any]) -> str:
    seconds = float(change.get("ApproximateCreationDateTime") or 0)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def source_deltas(records: list[dict[str, Any]]) -> dict[str, SourceDelta]:
    """Pure: per source, appeals created (`received`) and the change in how many wait."""
    deltas: dict[str, SourceDelta] = {}
    for record in records:
        change = record.get("dynamodb") or {}
        old, new = change.get("OldImage"), change.get("NewImage")
        source_id = _string(new, "source_id") or _string(old, "source_id")
        sequence = str(change.get("SequenceNumber") or "")
        if source_id is None or not sequence:
            continue
        delta = deltas.setdefault(source_id, SourceDelta(first=sequence, last=sequence))
        delta.last = sequence
        delta.received += 1 if new is not None and old is None else 0
        delta.waiting += (_string(new, "status") == _WAITING) - (_string(old, "status") == _WAITING)
        delta.as_of = max(delta.as_of, _when(change))
    return deltas


def _stream_of(records: list[dict[str, Any]]) -> str:
    # A Lambda batch comes from one stream shard; its records do not name the shard,
    # so the mark is kept per stream (see docs/architecture.md for the limit of that).
    arn = str(records[0].get("eventSourceARN") or "local")
    return "".join(c if c.isalnum() else "_" for c in arn.rsplit("/", 1)[-1]) or "local"


def apply_appeal_records(records: list[dict[str, Any]]) -> int:
    """Adds a batch of appeals-stream records to their sources' aggregates; returns the
    number of sources updated (a batch counted before updates none)."""
    if not records:
        return 0
    stream = _stream_of(records)
    applied = 0
    for source_id, delta in source_deltas(records).items():
        applied += add_stream_batch(
            source_id,
            stream,
            delta.first,
            delta.last,
            received=delta.received,
            waiting=delta.waiting,
            as_of=delta.as_of,
        )
    return applied
