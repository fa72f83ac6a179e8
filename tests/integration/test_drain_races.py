"""The waiting line under races, on the real engine: an appeal is handed out
once however many drains (immediate ones and the scheduled run) go for it,
and the counters stay exact."""

from __future__ import annotations

import random
from collections import Counter

from chalicelib.models import Appeal, Operator, Source
from chalicelib.models.appeals import ACTIVE, WAITING
from chalicelib.services import appeals, waiting_line
from chalicelib.services.audit import audit_counters
from chalicelib.services.reassignment import run_reassignment
from tests.integration.helpers import (
    appeal_for,
    counter_problems,
    new_operator,
    new_source,
    race,
    snapshot,
    warm_up,
    watch_transactions,
)

ROUNDS = 3
THREADS = 8
WAITING_PER_ROUND = 60
CAPACITY_PER_OPERATOR = 10  # 3 operators: 30 of the 60 can be handed out


def test_GIVEN_a_line_and_new_capacity_WHEN_eight_drains_race_THEN_each_appeal_is_handed_out_once(
    real_tables: str,
) -> None:
    warm_up()
    lost_races = 0
    for _ in range(ROUNDS):
        team = [new_operator(f"Op {i}", max_load=0) for i in range(3)]
        source = new_source({op.id: 10 for op in team})
        line = [appeals.submit_appeal(appeal_for(source.id)).appeal.id for _ in range(WAITING_PER_ROUND)]
        # Capacity appears without its immediate drain (as if that had failed).
        for op in team:
            Operator(op.id).update(actions=[Operator.max_load.set(CAPACITY_PER_OPERATOR)])

        def drain(index: int, source_id: str = source.id) -> int:
            if index == 0:
                return run_reassignment(rng=random.Random(index)).drained
            return waiting_line.drain_source(Source.get(source_id), rng=random.Random(index)).handed_out

        with watch_transactions() as log:
            handed_out = race(THREADS, drain)
        lost_races += log.outcomes["ConditionalCheckFailed"]

        rows = [Appeal.get(appeal_id, consistent_read=True) for appeal_id in line]
        assert sum(handed_out) == 3 * CAPACITY_PER_OPERATOR
        assert Counter(row.status for row in rows) == {ACTIVE: 30, WAITING: 30}
        for row in rows:
            assigned = [event for event in appeals.get_history(row.appeal_id).events if event.type == "assigned"]
            assert len(assigned) == (1 if row.status == ACTIVE else 0), f"{row.appeal_id} assigned {len(assigned)}x"
        # Oldest first: the 30 handed out are the 30 that waited longest.
        assert [row.status for row in rows] == [ACTIVE] * 30 + [WAITING] * 30
    assert counter_problems(snapshot()) == []
    assert audit_counters(settle=lambda: None).drift_total == 0
    assert lost_races > 0, "the drains never collided: the race did not happen"


def test_GIVEN_closes_intakes_and_drains_at_once_WHEN_the_dust_settles_THEN_nobody_waits_while_someone_is_free(
    real_tables: str,
) -> None:
    warm_up()
    team = [new_operator(f"Op {i}", max_load=3) for i in range(4)]
    source = new_source({op.id: 10 for op in team})
    opened = [appeals.submit_appeal(appeal_for(source.id)).appeal.id for _ in range(30)]

    def work(index: int) -> None:
        rng = random.Random(index)
        for step in range(12):
            kind = (index + step) % 3
            if kind == 0:
                appeals.submit_appeal(appeal_for(source.id), rng=rng)
            elif kind == 1:
                try:
                    appeals.close_appeal(opened[rng.randrange(len(opened))])
                except Exception as exc:  # closing an appeal another thread closed: 409
                    assert type(exc).__name__ == "Conflict"
            else:
                waiting_line.drain_source(Source.get(source.id), rng=rng)

    race(THREADS, work)
    run_reassignment()

    snap = snapshot()
    assert counter_problems(snap) == []
    free = sum(max(int(op.max_load) - int(op.active_load), 0) for op in snap.operators.values())
    waiting = snap.statuses()[WAITING]
    assert waiting == 0 or free == 0, f"{waiting} waiting while {free} slots are free"
    assert audit_counters(settle=lambda: None).drift_total == 0
