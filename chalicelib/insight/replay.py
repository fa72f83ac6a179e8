"""The what-if simulator: a source's past appeals replayed in memory against a
proposed configuration (weights, strategy, capacities, and optionally shifts,
skills and line order), through the real weighted draw (``draw``). Seeded,
deterministic, no I/O.

Model (event-driven, in time order; at one instant completions go first, then
shift changes, then fallbacks, then arrivals, so capacity freed at t serves
the line before a newcomer at t):

* An arrival is placed at once if an eligible operator (on shift, active, with
  the required tags, below ``max_load``) exists: one ``draw`` among the
  eligible on-shift operators, exactly as intake does. Otherwise it waits.
* The line is ordered by the line key of ``chalicelib.routing.line_order``
  (arrival minus priority credit, then appeal id). Whenever capacity may have
  appeared (a completion, a shift start, a fallback coming due) the line is
  drained as the real drain does it: oldest key first, skipping appeals nobody
  free may take, until nobody free can take anything.
* An appeal placed at t holds its operator's slot until t + its recorded
  handling time (assignment to close); its wait is t − arrival.
* An SLA lapse is counted when the appeal's recorded accept delay exceeds the
  proposed SLA. Lapses are counted, not re-routed: what a different operator
  would have done after a lapse is not in the history.
* Skills: required = source tags ∪ the appeal's tags; after
  ``fallback_after_seconds`` of waiting anyone may take it.
* Shifts: an operator with a schedule is drawn only while on shift; appeals
  already held stay with them at shift end (the replay does not return
  unaccepted appeals to the line). Without a schedule: always on shift.
* Everyone starts empty (load 0). The line is followed up to 14 days past the
  last arrival; what is still waiting then is reported as ``never_assigned``.

Cost: O(n log n + n·k) for n appeals and k operators per requirement group;
10,000 appeals take a fraction of a second (``python -m bench.replay``).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.directory.schedules import WeeklySchedule, shift_spans
from chalicelib.insight.stats import summarize
from chalicelib.models.sources import Strategy
from chalicelib.routing.draw import Candidate, draw
from chalicelib.routing.line_order import LineOrder, Priority, priority_credit

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MAX_REPLAY_APPEALS",
    "Assignment",
    "OperatorOutcome",
    "OperatorSetup",
    "PastAppeal",
    "ReplayConfig",
    "ReplayResult",
    "recorded",
    "replay",
]

MAX_REPLAY_APPEALS = 10_000
TAIL = timedelta(days=14)

# Event kinds, in the order they apply at one instant.
_COMPLETE, _SHIFT, _FALLBACK, _ARRIVE = 0, 1, 2, 3


@dataclass(frozen=True)
class PastAppeal:
    """One appeal of the history: times in seconds (arrival: Unix time, for shifts)."""

    appeal_id: str
    arrival: float
    handling_seconds: float  # assignment to close
    accept_delay_seconds: float  # assignment to accept
    required_tags: frozenset[str] = frozenset()
    score: float | None = None
    returning: bool = False
    vip: bool = False
    # What actually happened, for the side-by-side (``recorded``):
    recorded_operator_id: str | None = None
    recorded_wait_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.handling_seconds < 0 or self.accept_delay_seconds < 0:
            raise ValueError("durations are never negative")


@dataclass(frozen=True)
class OperatorSetup:
    operator_id: str
    weight: int
    max_load: int
    name: str = ""
    is_active: bool = True
    tags: frozenset[str] = frozenset()
    schedule: WeeklySchedule | None = None  # None: always on shift


@dataclass(frozen=True)
class ReplayConfig:
    operators: tuple[OperatorSetup, ...]
    strategy: Strategy = Strategy.WEIGHTED
    sla_seconds: float | None = None
    line_order: LineOrder = field(default_factory=LineOrder)
    source_tags: frozenset[str] = frozenset()
    fallback_after_seconds: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        ids = [op.operator_id for op in self.operators]
        if len(set(ids)) != len(ids):
            raise ValueError("an operator appears twice")
        if any(op.weight < 0 or op.max_load < 0 for op in self.operators):
            raise ValueError("weights and capacities are never negative")


@dataclass(frozen=True)
class OperatorOutcome:
    operator_id: str
    assigned: int
    share: float  # of all assigned appeals
    mean_load: float  # time-weighted over the replayed span
    max_load: int


@dataclass(frozen=True)
class Assignment:
    appeal_id: str
    operator_id: str | None  # None: never assigned
    wait_seconds: float | None


@dataclass(frozen=True)
class ReplayResult:
    appeals: int
    assigned: int
    never_assigned: int
    waited: int  # appeals that were not placed on arrival
    mean_wait: float | None
    p50_wait: float | None
    p90_wait: float | None
    max_wait: float | None
    sla_lapses: int
    operators: tuple[OperatorOutcome, ...]
    assignments: tuple[Assignment, ...]  # in arrival order

    def share(self, operator_id: str) -> float:
        return next((o.share for o in self.operators if o.operator_id == operator_id), 0.0)


def replay(appeals: Sequence[PastAppeal], config: ReplayConfig) -> ReplayResult:
    """Replays `appeals` (any order) under `config`; same input and seed, same result."""
    if len(appeals) > MAX_REPLAY_APPEALS:
        raise ValueError(f"at most {MAX_REPLAY_APPEALS} appeals")
    return _Replay(appeals, config).run()


class _Replay:
    def __init__(self, appeals: Sequence[PastAppeal], config: ReplayConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.appeals = sorted(appeals, key=lambda a: (a.arrival, a.appeal_id))
        operators = config.operators
        self.candidates = [
            Candidate(op.operator_id, op.name or op.operator_id, op.weight, op.is_active, 0, op.max_load)
            for op in operators
        ]
        self.loads = [0] * len(operators)
        # Mirrors Candidate.is_available (active, weight >= 1, below max_load), kept current on every load move.
        self.free = [c.is_available for c in self.candidates]
        self.peak = [0] * len(operators)
        self.area = [0.0] * len(operators)
        self.changed_at = [0.0] * len(operators)
        self.on_shift = [op.schedule is None for op in operators]
        self.events: list[tuple[float, int, int, int]] = []  # (time, kind, tiebreak, subject)
        self.heaps: dict[frozenset[str], list[tuple[float, str, int]]] = {}
        self.group_of: list[frozenset[str] | None] = [None] * len(self.appeals)  # None: not waiting
        self.eligible: dict[frozenset[str], list[int]] = {}
        self.placed: list[tuple[int, float] | None] = [None] * len(self.appeals)
        self.index = {op.operator_id: i for i, op in enumerate(operators)}
        self.line_time = [
            a.arrival - priority_credit(config.line_order, Priority(a.score, a.returning, a.vip)).total_seconds()
            for a in self.appeals
        ]
        self.waited = 0  # appeals not placed on arrival
        self.waiting = 0  # appeals in the line now
        self.pending = 0  # arrivals, completions and fallbacks still to come
        self.now = self.last = self.appeals[0].arrival if self.appeals else 0.0

    # --- setup ---------------------------------------------------------------------------------------------------

    def _schedule_events(self, start: float, end: float) -> None:
        first = datetime.fromtimestamp(start, UTC)
        last = datetime.fromtimestamp(end, UTC)
        for index, op in enumerate(self.config.operators):
            if op.schedule is None:
                continue
            spans = shift_spans(op.schedule, (first - timedelta(days=2)).date(), (last + timedelta(days=1)).date())
            for span_start, span_end in spans:
                begin, finish = span_start.timestamp(), span_end.timestamp()
                if begin <= start < finish:
                    self.on_shift[index] = True
                # Subject: operator index * 2 + (1: goes on shift, 0: goes off).
                if start < begin <= end:
                    self.events.append((begin, _SHIFT, index, index * 2 + 1))
                if start < finish <= end:
                    self.events.append((finish, _SHIFT, index, index * 2))

    # --- the line and the draw -------------------------------------------------------------------------------------

    def _eligible(self, group: frozenset[str]) -> list[int]:
        found = self.eligible.get(group)
        if found is None:
            found = [i for i, op in enumerate(self.config.operators) if group <= op.tags]
            self.eligible[group] = found
        return found

    def _pool(self, group: frozenset[str]) -> list[Candidate]:
        """The draw's candidates: eligible, on shift, and free. Leaving out the ones
        ``draw`` would give weight 0 anyway changes neither its total nor where each
        remaining candidate's range lies, so the winner is the same for the same
        random number; it only spares the draw looking at full operators."""
        on_shift, free, candidates = self.on_shift, self.free, self.candidates
        return [candidates[i] for i in self._eligible(group) if on_shift[i] and free[i]]

    def _has_free(self, group: frozenset[str]) -> bool:
        on_shift, free = self.on_shift, self.free
        return any(on_shift[i] and free[i] for i in self._eligible(group))

    def _place(self, appeal: int, group: frozenset[str]) -> bool:
        winner = draw(self._pool(group), self.config.strategy, self.rng).winner
        if winner is None:
            return False
        index = self.index[winner.operator_id]
        self._move_load(index, +1)
        self.placed[appeal] = (index, self.now)
        past = self.appeals[appeal]
        heapq.heappush(self.events, (self.now + past.handling_seconds, _COMPLETE, appeal, index))
        self.pending += 1
        return True

    def _move_load(self, index: int, delta: int) -> None:
        self.area[index] += self.loads[index] * (self.now - self.changed_at[index])
        self.changed_at[index] = self.now
        self.loads[index] += delta
        self.peak[index] = max(self.peak[index], self.loads[index])
        self.candidates[index] = moved = replace(self.candidates[index], active_load=self.loads[index])
        self.free[index] = moved.is_available

    def _wait(self, appeal: int, group: frozenset[str]) -> None:
        """Into the line (or, at a fallback, into the no-requirement part of it: same key, new group)."""
        if self.group_of[appeal] is None:
            self.waiting += 1
        self.group_of[appeal] = group
        line = self.heaps.setdefault(group, [])
        heapq.heappush(line, (self.line_time[appeal], self.appeals[appeal].appeal_id, appeal))

    def _drain(self) -> None:
        """Oldest line key first among the appeals someone free may take, while anyone can take any."""
        while True:
            best: frozenset[str] | None = None
            best_head: tuple[float, str, int] | None = None
            for group, heap in self.heaps.items():
                while heap and self.group_of[heap[0][2]] != group:
                    heapq.heappop(heap)  # placed, or moved to the fallback group
                if heap and (best_head is None or heap[0] < best_head) and self._has_free(group):
                    best, best_head = group, heap[0]
            if best is None or best_head is None:
                return
            heapq.heappop(self.heaps[best])
            appeal = best_head[2]
            self.group_of[appeal] = None
            self.waiting -= 1
            if not self._place(appeal, best):
                raise RuntimeError("a free eligible operator was there")

    # --- the run -------------------------------------------------------------------------------------------------

    def run(self) -> ReplayResult:
        if self.appeals:
            self.changed_at = [self.now] * len(self.config.operators)
            self._schedule_events(self.now, self.appeals[-1].arrival + TAIL.total_seconds())
        for number, appeal in enumerate(self.appeals):
            self.events.append((appeal.arrival, _ARRIVE, number, number))
        self.pending += len(self.appeals)
        heapq.heapify(self.events)
        # Shift changes alone go on only while someone waits for a shift to start.
        while self.events and (self.pending or self.waiting):
            self.now, kind, _, subject = heapq.heappop(self.events)
            if kind == _SHIFT:
                self._shift_change(subject)
                continue
            self.pending -= 1
            self.last = self.now
            if kind == _ARRIVE:
                self._arrive(subject)
            elif kind == _COMPLETE:
                self._move_load(subject, -1)
                self._drain()
            elif self.group_of[subject] is not None:  # a fallback came due for a waiting appeal
                self._wait(subject, frozenset())
                self._drain()
        return self._result()

    def _shift_change(self, subject: int) -> None:
        index, on = divmod(subject, 2)
        self.on_shift[index] = bool(on)
        if on:
            self._drain()

    def _arrive(self, appeal: int) -> None:
        group = self.config.source_tags | self.appeals[appeal].required_tags
        if self._place(appeal, group):
            return
        self.waited += 1
        self._wait(appeal, group)
        fallback = self.config.fallback_after_seconds
        if group and fallback is not None:
            heapq.heappush(self.events, (self.now + fallback, _FALLBACK, appeal, appeal))
            self.pending += 1

    def _result(self) -> ReplayResult:
        config = self.config
        end = self.last  # the last arrival or completion: shift changes after it do not dilute loads
        waits: list[float] = []
        lapses = 0
        assignments: list[Assignment] = []
        counts = [0] * len(config.operators)
        for appeal, past in zip(self.placed, self.appeals, strict=True):
            if appeal is None:
                assignments.append(Assignment(past.appeal_id, None, None))
                continue
            index, at = appeal
            counts[index] += 1
            waits.append(at - past.arrival)
            assignments.append(Assignment(past.appeal_id, config.operators[index].operator_id, at - past.arrival))
            if config.sla_seconds is not None and past.accept_delay_seconds > config.sla_seconds:
                lapses += 1
        span = end - self.appeals[0].arrival if self.appeals else 0.0
        outcomes = []
        for index, op in enumerate(config.operators):
            area = self.area[index] + self.loads[index] * (end - self.changed_at[index])
            outcomes.append(
                OperatorOutcome(
                    op.operator_id,
                    counts[index],
                    counts[index] / len(waits) if waits else 0.0,
                    area / span if span > 0 else 0.0,
                    self.peak[index],
                )
            )
        summary = summarize(waits)
        return ReplayResult(
            len(self.appeals),
            len(waits),
            len(self.appeals) - len(waits),
            self.waited,
            summary.mean,
            summary.p50,
            summary.p90,
            summary.max,
            lapses,
            tuple(outcomes),
            tuple(assignments),
        )


def recorded(appeals: Sequence[PastAppeal], operator_ids: Sequence[str], sla_seconds: float | None) -> ReplayResult:
    """What actually happened, in the replay's shape (for the side-by-side): shares,
    waits and loads from each appeal's recorded operator and wait."""
    ordered = sorted(appeals, key=lambda a: (a.arrival, a.appeal_id))
    index = {operator_id: i for i, operator_id in enumerate(operator_ids)}
    counts = [0] * len(operator_ids)
    changes: list[tuple[float, int, int]] = []  # (time, +1/-1, operator) for the load sweep
    waits: list[float] = []
    lapses = 0
    assignments: list[Assignment] = []
    for past in ordered:
        who, wait = past.recorded_operator_id, past.recorded_wait_seconds
        if who is None or wait is None:
            assignments.append(Assignment(past.appeal_id, None, None))
            continue
        waits.append(wait)
        assignments.append(Assignment(past.appeal_id, who, wait))
        if sla_seconds is not None and past.accept_delay_seconds > sla_seconds:
            lapses += 1
        if who in index:
            counts[index[who]] += 1
            begin = past.arrival + wait
            changes += [(begin, 1, index[who]), (begin + past.handling_seconds, -1, index[who])]
    changes.sort(key=lambda change: (change[0], change[1]))  # releases before claims at one instant
    loads, peak, area = [0] * len(operator_ids), [0] * len(operator_ids), [0.0] * len(operator_ids)
    start = ordered[0].arrival if ordered else 0.0
    last = [start] * len(operator_ids)
    end = max((time for time, _, _ in changes), default=start)
    for time, delta, who_index in changes:
        area[who_index] += loads[who_index] * (time - last[who_index])
        last[who_index] = time
        loads[who_index] += delta
        peak[who_index] = max(peak[who_index], loads[who_index])
    span = end - start
    summary = summarize(waits)
    return ReplayResult(
        len(ordered),
        len(waits),
        len(ordered) - len(waits),
        sum(1 for wait in waits if wait > 0),
        summary.mean,
        summary.p50,
        summary.p90,
        summary.max,
        lapses,
        tuple(
            OperatorOutcome(
                operator_id,
                counts[i],
                counts[i] / len(waits) if waits else 0.0,
                area[i] / span if span > 0 else 0.0,
                peak[i],
            )
            for i, operator_id in enumerate(operator_ids)
        ),
        tuple(assignments),
    )
