"""Statistics helpers: nearest-rank percentiles on hand-computed values, day
buckets, and histogram percentiles bounding the exact ones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.insight.stats import (
    BUCKET_BOUNDS,
    Summary,
    add_to_histogram,
    bucket_of,
    daily_counts,
    daily_summaries,
    day_of,
    days,
    empty_histogram,
    histogram_percentile,
    hour_of,
    merge_histograms,
    p50,
    p90,
    percentile,
    summarize,
)


def test_GIVEN_hand_computed_values_WHEN_percentiles_are_taken_THEN_nearest_rank_answers() -> None:
    waits = [15, 20, 35, 40, 50]  # the textbook example
    assert percentile(waits, 5) == 15
    assert percentile(waits, 30) == 20
    assert percentile(waits, 40) == 20
    assert percentile(waits, 50) == 35
    assert percentile(waits, 100) == 50
    assert percentile(waits, 0) == 15
    assert p50([4, 1, 3, 2]) == 2  # even count: the lower middle, a value that happened
    assert p90(list(range(1, 11))) == 9
    assert p90(list(range(1, 12))) == 10
    assert p50([]) is None and p90([]) is None
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile(waits, 101)


def test_GIVEN_durations_WHEN_summarized_THEN_count_mean_p50_p90_max() -> None:
    assert summarize([60, 30, 90, 600, 120]) == Summary(5, 180.0, 90, 600, 600)
    assert summarize([]) == Summary(0, None, None, None, None)


def test_GIVEN_instants_WHEN_bucketed_by_day_THEN_the_zone_decides_the_day_and_empty_days_are_zero() -> None:
    late = datetime(2026, 6, 1, 22, 30, tzinfo=UTC)  # already 2 June in Kyiv
    assert day_of(late) == date(2026, 6, 1)
    assert day_of(late, ZoneInfo("Europe/Kyiv")) == date(2026, 6, 2)
    assert hour_of(late) == datetime(2026, 6, 1, 22, tzinfo=UTC)
    moments = [late, datetime(2026, 6, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)]
    assert daily_counts(moments, first=date(2026, 6, 1), last=date(2026, 6, 3)) == {
        date(2026, 6, 1): 1,
        date(2026, 6, 2): 0,
        date(2026, 6, 3): 1,
    }
    summaries = daily_summaries(
        [(late, 30.0), (late, 90.0), (datetime(2026, 6, 2, tzinfo=UTC), 5.0)],
        first=date(2026, 6, 1),
        last=date(2026, 6, 2),
    )
    assert summaries == {date(2026, 6, 1): Summary(2, 60.0, 30.0, 90.0, 90.0), date(2026, 6, 2): Summary(1, 5, 5, 5, 5)}


def test_GIVEN_a_range_WHEN_too_long_or_backwards_THEN_refused() -> None:
    assert len(days(date(2026, 1, 1), date(2026, 12, 31))) == 365
    with pytest.raises(ValueError, match="366"):
        days(date(2026, 1, 1), date(2027, 1, 2))
    with pytest.raises(ValueError, match="before"):
        days(date(2026, 1, 2), date(2026, 1, 1))


def test_GIVEN_bucket_edges_WHEN_bucketed_THEN_upper_bounds_are_inclusive() -> None:
    assert bucket_of(0) == 0
    assert bucket_of(1) == 0
    assert bucket_of(1.0001) == 1
    assert bucket_of(604800) == len(BUCKET_BOUNDS) - 1
    assert bucket_of(10**9) == len(BUCKET_BOUNDS)
    with pytest.raises(ValueError, match="negative"):
        bucket_of(-1)


durations = st.lists(st.floats(0, 2 * 604800, allow_nan=False), min_size=1, max_size=200)


@settings(max_examples=150, deadline=None)
@given(first=durations, second=durations, q=st.sampled_from([1, 10, 50, 90, 99, 100]))
def test_GIVEN_any_durations_WHEN_kept_as_histograms_and_merged_THEN_the_percentile_is_the_exact_ones_bucket(
    first: list[float], second: list[float], q: int
) -> None:
    def histogram(values: list[float]) -> tuple[int, ...]:
        counts = empty_histogram()
        for value in values:
            counts = add_to_histogram(counts, value)
        return counts

    merged = merge_histograms(histogram(first), histogram(second))
    assert merged == histogram(first + second)
    exact = percentile(first + second, q)
    assert exact is not None
    estimate = histogram_percentile(merged, q)
    assert estimate == BUCKET_BOUNDS[min(bucket_of(exact), len(BUCKET_BOUNDS) - 1)]
    if bucket_of(exact) < len(BUCKET_BOUNDS):
        assert estimate is not None and estimate >= exact
    assert histogram_percentile(empty_histogram(), q) is None
