"""The waiting line's sort key: fifo keys unchanged, priority first within the
bound, and no appeal overtaken by anything arriving more than max_jump after it."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from pydantic import ValidationError

from chalicelib.routing.line_order import (
    LineMode,
    LineOrder,
    Priority,
    line_key,
    parse_line_key,
    priority_credit,
    priority_level,
)

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
PRIORITY = LineOrder(mode=LineMode.PRIORITY, max_jump_seconds=700, hot_threshold=0.7)
VIP = Priority(vip=True)
HOT = Priority(score=0.7)
RETURNING = Priority(returning=True)


def test_GIVEN_a_fifo_line_WHEN_keyed_THEN_the_key_is_todays_format_whatever_the_priority() -> None:
    fifo = LineOrder()
    arrival = datetime(2026, 6, 1, 13, 0, 5, 120, tzinfo=UTC)
    expected = "queued#2026-06-01T13:00:05.000120Z#ap_1"
    assert line_key(fifo, arrival, "ap_1") == expected
    assert line_key(fifo, arrival, "ap_1", Priority(score=1.0, returning=True, vip=True)) == expected
    assert line_key(PRIORITY, arrival, "ap_1", Priority(score=0.69)) == expected  # below the threshold: plain
    assert parse_line_key(expected) == ("queued", arrival, "ap_1")


def test_GIVEN_levels_WHEN_ranked_THEN_vip_beats_hot_beats_returning_and_credit_stays_within_the_bound() -> None:
    levels = [priority_level(PRIORITY, p) for p in (Priority(), RETURNING, HOT, VIP)]
    assert levels == [0, 1, 2, 4]
    assert priority_level(PRIORITY, Priority(score=0.9, returning=True)) < priority_level(PRIORITY, VIP)
    top = Priority(score=0.9, returning=True, vip=True)
    assert priority_credit(PRIORITY, top) == timedelta(seconds=700)
    assert priority_credit(PRIORITY, VIP) == timedelta(seconds=400)


def test_GIVEN_a_vip_after_a_plain_appeal_WHEN_within_the_bound_THEN_vip_first_and_beyond_it_plain_first() -> None:
    plain = line_key(PRIORITY, T0, "ap_1")
    soon = line_key(PRIORITY, T0 + timedelta(seconds=399), "ap_2", VIP)
    late = line_key(PRIORITY, T0 + timedelta(seconds=401), "ap_3", VIP)
    assert sorted([plain, soon, late]) == [soon, plain, late]


def test_GIVEN_bad_line_settings_WHEN_validated_THEN_422_names_the_field() -> None:
    with pytest.raises(ValidationError) as raised:
        LineOrder.model_validate({"mode": "lifo", "max_jump_seconds": 86401, "hot_threshold": 1.5})
    assert sorted(e["loc"][0] for e in raised.value.errors()) == ["hot_threshold", "max_jump_seconds", "mode"]


def test_GIVEN_a_naive_arrival_WHEN_keyed_THEN_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        line_key(PRIORITY, datetime(2026, 6, 1), "ap_1")


priorities = st.builds(Priority, score=st.none() | st.floats(0, 1), returning=st.booleans(), vip=st.booleans())
offsets = st.integers(0, 3 * 24 * 3600 * 1_000_000).map(lambda micros: timedelta(microseconds=micros))


@settings(max_examples=200, deadline=None)
@given(
    first=st.tuples(offsets, priorities, st.integers(0, 999)),
    second=st.tuples(offsets, priorities, st.integers(0, 999)),
)
def test_GIVEN_two_appeals_WHEN_keys_are_compared_as_strings_THEN_they_order_by_line_time_then_id(
    first: tuple[timedelta, Priority, int], second: tuple[timedelta, Priority, int]
) -> None:
    keyed = []
    for offset, priority, number in (first, second):
        arrival = T0 + offset
        key = line_key(PRIORITY, arrival, f"ap_{number:04d}", priority)
        keyed.append((key, (arrival - priority_credit(PRIORITY, priority), f"ap_{number:04d}")))
    (key_a, exact_a), (key_b, exact_b) = keyed
    assert (key_a < key_b) == (exact_a < exact_b)
    assert exact_a[0] >= T0 + first[0] - timedelta(seconds=PRIORITY.max_jump_seconds)


@dataclass(frozen=True)
class Waiting:
    arrival: datetime
    credit: timedelta
    level: int


class PriorityLine(RuleBasedStateMachine):
    """Random arrivals (any mix of VIP, hot, returning, plain; bursts and lulls) and
    drains of the smallest keys, over the real key strings, checked against strict
    FIFO at every hand-out."""

    def __init__(self) -> None:
        super().__init__()
        self.order = PRIORITY
        self.bound = timedelta(seconds=self.order.max_jump_seconds)
        self.clock = T0
        self.line: list[str] = []
        self.appeals: dict[str, Waiting] = {}
        self.arrived = 0
        self.served: list[str] = []

    @rule(
        gap=st.one_of(st.just(0), st.integers(0, 200_000_000), st.integers(0, 2_000_000_000)),
        priority=priorities,
    )
    def arrive(self, gap: int, priority: Priority) -> None:
        self.clock += timedelta(microseconds=gap)
        self.arrived += 1
        key = line_key(self.order, self.clock, f"ap_{self.arrived:06d}", priority)
        self.appeals[key] = Waiting(
            self.clock, priority_credit(self.order, priority), priority_level(self.order, priority)
        )
        bisect.insort(self.line, key)

    @rule(count=st.integers(1, 4))
    def drain(self, count: int) -> None:
        for _ in range(min(count, len(self.line))):
            key = self.line.pop(0)  # what a drain reads: the smallest key of the segment
            served = self.appeals[key]
            for other_key in self.line:
                other = self.appeals[other_key]
                if other.arrival < served.arrival:
                    # `served` overtook `other`: only allowed if it arrived within the bound after it.
                    assert served.arrival - other.arrival <= self.bound
                if other.level > served.level and other.arrival >= served.arrival:
                    # A higher priority still waiting must have arrived too late to claim its lead.
                    assert other.arrival - served.arrival >= other.credit - served.credit
            self.served.append(key)

    @invariant()
    def the_line_is_sorted_and_complete(self) -> None:
        assert self.line == sorted(self.line)
        assert len(self.line) + len(self.served) == self.arrived


PriorityLine.TestCase.settings = settings(max_examples=40, stateful_step_count=60, deadline=None)
TestGIVEN_random_arrivals_and_drains_WHEN_the_priority_line_serves_THEN_nobody_waits_beyond_the_bound = (
    PriorityLine.TestCase
)
