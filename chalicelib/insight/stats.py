"""Statistics as pure functions, shared by the replay and the stream-fed analytics:
nearest-rank percentiles, duration summaries, hour/day buckets, and a fixed-bucket
histogram that can be kept incrementally (one atomic ADD per bucket) and merged.

Percentiles are **nearest-rank**: the p-th percentile of n sorted values is the
value at rank ``max(1, ceil(p/100 · n))`` (1-based). It is always one of the
values (no interpolation), so "p90 time to accept: 4 min" is a time somebody
actually waited, and p50 of an even count is the lower middle value. Empty
input has no percentile (None), never 0.

A histogram cannot give the exact value back, so ``histogram_percentile``
answers the upper bound of the bucket holding the nearest-rank value: never
below the exact answer and at most one bucket above it. Buckets are fine where
people look (seconds to minutes) and coarse beyond hours.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "BUCKET_BOUNDS",
    "MAX_DAYS",
    "Summary",
    "add_to_histogram",
    "bucket_of",
    "daily_counts",
    "daily_summaries",
    "day_of",
    "days",
    "empty_histogram",
    "histogram_percentile",
    "hour_of",
    "merge_histograms",
    "p50",
    "p90",
    "percentile",
    "summarize",
]

# Upper bounds (seconds, inclusive) of the histogram buckets; one more bucket holds everything above.
BUCKET_BOUNDS: tuple[float, ...] = (
    *(1, 2, 3, 5, 7, 10, 15, 20, 30, 45),
    *(60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 2700),
    *(3600, 5400, 7200, 10800, 14400, 21600, 28800, 43200),
    *(86400, 172800, 345600, 604800),
)
MAX_DAYS = 366  # the longest range a query may ask for


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile, q in [0, 100]; None for no values."""
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def p50(values: Sequence[float]) -> float | None:
    return percentile(values, 50)


def p90(values: Sequence[float]) -> float | None:
    return percentile(values, 90)


@dataclass(frozen=True)
class Summary:
    count: int
    mean: float | None
    p50: float | None
    p90: float | None
    max: float | None


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        return Summary(0, None, None, None, None)
    ordered = sorted(values)
    count = len(ordered)

    def rank(q: float) -> float:
        return ordered[max(1, math.ceil(q / 100 * count)) - 1]

    return Summary(count, math.fsum(ordered) / count, rank(50), rank(90), ordered[-1])


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timezone-aware time is required")
    return moment


def day_of(moment: datetime, zone: tzinfo = UTC) -> date:
    """The calendar day of an instant in `zone` (UTC unless a team asks for its own)."""
    return _aware(moment).astimezone(zone).date()


def hour_of(moment: datetime) -> datetime:
    """The UTC hour an instant falls in (the timeline's bucket)."""
    return _aware(moment).astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def days(first: date, last: date) -> list[date]:
    """Every day from first to last, both included; ValueError past MAX_DAYS or backwards."""
    if last < first:
        raise ValueError("last day is before the first")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days")
    return [first + timedelta(days=n) for n in range(count)]


def daily_counts(moments: Iterable[datetime], *, first: date, last: date, zone: tzinfo = UTC) -> dict[date, int]:
    """How many instants fall on each day of first..last (days with none: 0; outside: ignored)."""
    counts = dict.fromkeys(days(first, last), 0)
    for moment in moments:
        day = day_of(moment, zone)
        if day in counts:
            counts[day] += 1
    return counts


def daily_summaries(
    samples: Iterable[tuple[datetime, float]], *, first: date, last: date, zone: tzinfo = UTC
) -> dict[date, Summary]:
    """Per day of first..last, the summary of the durations whose instant falls on it."""
    grouped: dict[date, list[float]] = {day: [] for day in days(first, last)}
    for moment, value in samples:
        day = day_of(moment, zone)
        if day in grouped:
            grouped[day].append(value)
    return {day: summarize(values) for day, values in grouped.items()}


# --- histogram ------------------------------------------------------------------------------------------------------


def empty_histogram() -> tuple[int, ...]:
    return (0,) * (len(BUCKET_BOUNDS) + 1)


def bucket_of(seconds: float) -> int:
    """The bucket index of a duration: the first whose upper bound is >= it (the last for beyond a week)."""
    if seconds < 0 or math.isnan(seconds):
        raise ValueError("a duration is never negative")
    return bisect.bisect_left(BUCKET_BOUNDS, seconds)


def add_to_histogram(counts: Sequence[int], seconds: float) -> tuple[int, ...]:
    index = bucket_of(seconds)
    return tuple(count + (1 if i == index else 0) for i, count in enumerate(counts))


def merge_histograms(*histograms: Sequence[int]) -> tuple[int, ...]:
    """Sum of histograms (days into a range, operators into a source)."""
    merged = list(empty_histogram())
    for counts in histograms:
        if len(counts) != len(merged):
            raise ValueError("histograms with different buckets")
        for i, count in enumerate(counts):
            merged[i] += count
    return tuple(merged)


def histogram_percentile(counts: Sequence[int], q: float) -> float | None:
    """Nearest-rank percentile from bucket counts: the upper bound of the bucket holding
    that rank (the overflow bucket answers the last bound: "a week or more")."""
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    total = sum(counts)
    if not total:
        return None
    rank = max(1, math.ceil(q / 100 * total))
    seen = 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return BUCKET_BOUNDS[min(index, len(BUCKET_BOUNDS) - 1)]
    raise AssertionError("unreachable: rank <= total")
