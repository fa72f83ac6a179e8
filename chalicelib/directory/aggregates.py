"""A source's appeal totals, aggregated from the appeals stream: one update per
source per stream batch, exactly once per record across redelivered, bisected
and overlapping batches.

Intake and the transitions write no per-source item (issue 15): the stream
carries every appeal change with its old and new image, and this consumer
turns a batch of them into one `add_stream_batch` per source, guarded by that
source's mark for the batch's shard (docs/architecture.md, "Stream aggregates").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.models.appeals import APPEAL_ID_PREFIX
from chalicelib.models.sources import add_stream_batch, padded_sequence, stream_mark

__all__ = ["Change", "SourceDelta", "apply_appeal_records", "source_deltas"]

_WAITING = "waiting"
# A concurrent consumer of the same shard is not expected (one invocation per shard at a
# time); a refused update is re-read and retried this many times before the batch fails.
_ATTEMPTS = 3


@dataclass(frozen=True)
class Change:
    """What one stream record changes in its source's aggregates."""

    sequence: str
    received: int
    waiting: int
    at: str


@dataclass
class SourceDelta:
    """What one batch changes in one source's aggregates, record by record, in shard order."""

    changes: list[Change] = field(default_factory=list)

    @property
    def first(self) -> str:
        return self.changes[0].sequence

    @property
    def last(self) -> str:
        return self.changes[-1].sequence

    @property
    def received(self) -> int:
        return sum(change.received for change in self.changes)

    @property
    def waiting(self) -> int:
        return sum(change.waiting for change in self.changes)

    @property
    def as_of(self) -> str:
        return max(change.at for change in self.changes)

    def after(self, mark: str) -> SourceDelta:
        """Only the records past a shard's mark (`<padded sequence>|...`): those not counted yet."""
        counted = mark.partition("|")[0]
        return SourceDelta([c for c in self.changes if padded_sequence(c.sequence) > counted])


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
        # Only appeals count: markers, members and a conversation's messages share the table
        # (a reply to the lead carries its source but is not an appeal).
        if not str(_string(change.get("Keys"), "appeal_id") or "").startswith(APPEAL_ID_PREFIX):
            continue
        source_id = _string(new, "source_id") or _string(old, "source_id")
        sequence = str(change.get("SequenceNumber") or "")
        if source_id is None or not sequence:
            continue
        waiting = (_string(new, "status") == _WAITING) - (_string(old, "status") == _WAITING)
        created = int(new is not None and old is None)
        deltas.setdefault(source_id, SourceDelta()).changes.append(Change(sequence, created, waiting, _when(change)))
    return deltas


def _apply(source_id: str, shard_id: str, delta: SourceDelta) -> bool:
    """One conditional update; when refused (the batch overlaps what the mark covers:
    a redelivery, a bisected half, a replay), only the records past the mark are added."""
    expected: str | None = None
    for _ in range(_ATTEMPTS):
        if not delta.changes:
            return False
        if add_stream_batch(
            source_id,
            shard_id,
            delta.first,
            delta.last,
            received=delta.received,
            waiting=delta.waiting,
            as_of=delta.as_of,
            expected_mark=expected,
        ):
            return True
        expected = stream_mark(source_id, shard_id)
        if expected is None:
            return False  # the source is gone
        delta = delta.after(expected)
    raise RuntimeError(f"source {source_id}: shard mark kept moving under the stream consumer")


def apply_appeal_records(records: list[dict[str, Any]], *, shard_id: str) -> int:
    """Adds a batch of appeals-stream records, all from the shard `shard_id`, to their
    sources' aggregates; returns the number of sources updated (a batch counted
    before updates none).

    Sequence numbers are ordered only within a shard, and a Lambda record does not
    name its shard: the event does (`shardId`, which Lambda sends when the event
    source has a tumbling window, and the local stream poller always sends), so the
    caller passes it and each shard keeps its own mark."""
    if not shard_id:
        raise ValueError("a stream batch needs its shard id (the event's shardId)")
    return sum(_apply(source_id, shard_id, delta) for source_id, delta in source_deltas(records).items())
