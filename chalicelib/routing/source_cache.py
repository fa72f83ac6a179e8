"""A warm function's copy of a source's settings and weight set, kept a few seconds (issue 15).

Intake reads both for every appeal; they change when an admin edits the
source or its weights, seconds or days apart. Keeping them for
`SOURCE_CACHE_SECONDS` (default 5; 0 turns the cache off) takes two of an
appeal's four DynamoDB requests away: what is left is the operators' loads,
read fresh, and the one transaction. That is safe because the claim's
condition is checked on the fresh items at commit: an operator who no longer
serves the source (weight 0) or was deactivated, or is full, is refused there
whatever the copy said, and the draw moves on. What a copy can delay, by at
most the window and only in other warm functions (this process forgets a
source on its own writes): a newly added operator or a changed weight share,
and a settings change (strategy, SLA, stickiness, accepted external-id
prefixes). See docs/architecture.md, "Warm source cache".

The window is measured on a monotonic clock, injectable for tests. Misses are
not kept: a source created right after a 404 is found at once.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Generic, TypeVar

from chalicelib.models.sources import Source, get_source_row
from chalicelib.models.weights import Weight, serving_weights

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["DEFAULT_SECONDS", "SourceCache", "source_cache"]

DEFAULT_SECONDS = 5.0
_T = TypeVar("_T")


def _configured_seconds() -> float:
    raw = os.environ.get("SOURCE_CACHE_SECONDS")
    try:
        value = float(raw) if raw else DEFAULT_SECONDS
    except ValueError:
        return DEFAULT_SECONDS
    return value if value >= 0 else DEFAULT_SECONDS


class _Shelf(Generic[_T]):
    """Values by key, each good until its own deadline."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], tuple[float, _T]] = {}

    def get(self, key: tuple[str, str], now: float) -> _T | None:
        found = self._items.get(key)
        return found[1] if found is not None and found[0] > now else None

    def put(self, key: tuple[str, str], value: _T, until: float) -> None:
        self._items[key] = (until, value)

    def drop(self, source_id: str) -> None:
        for key in [key for key in self._items if key[1] == source_id]:
            self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class SourceCache:
    """A source's row and serving weights, each kept `seconds` after it was read."""

    def __init__(self, seconds: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds  # None: SOURCE_CACHE_SECONDS, read when used (never at import)
        self._clock = clock
        self._lock = threading.Lock()
        self._sources: _Shelf[Source] = _Shelf()
        self._weights: _Shelf[tuple[Weight, ...]] = _Shelf()

    @property
    def seconds(self) -> float:
        return _configured_seconds() if self._seconds is None else self._seconds

    def source(self, source_id: str) -> Source:
        """The source's row (NotFound when there is none, never kept)."""
        key = (Source.Meta.table_name, source_id)
        now = self._clock()
        with self._lock:
            kept = self._sources.get(key, now)
        if kept is not None:
            return kept
        row = get_source_row(source_id)
        with self._lock:
            self._sources.put(key, row, now + self.seconds)
        return row

    def weights(self, source_id: str) -> Sequence[Weight]:
        """The source's serving weight rows (weight >= 1)."""
        key = (Weight.Meta.table_name, source_id)
        now = self._clock()
        with self._lock:
            kept = self._weights.get(key, now)
        if kept is not None:
            return kept
        rows = tuple(serving_weights(source_id))
        with self._lock:
            self._weights.put(key, rows, now + self.seconds)
        return rows

    def forget(self, source_id: str) -> None:
        """This process changed the source or its weights: the next read goes to the table."""
        with self._lock:
            self._sources.drop(source_id)
            self._weights.drop(source_id)

    def clear(self) -> None:
        with self._lock:
            self._sources.clear()
            self._weights.clear()


# The warm function's one cache (settings are read when it is first used, not at import).
source_cache = SourceCache()
