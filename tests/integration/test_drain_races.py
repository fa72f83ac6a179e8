"""The waiting line under races, on the real engine: an appeal is handed out
once however many drains (immediate ones and the scheduled run) go for it,
and the counters stay exact."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from datetime import timedelta

from chalicelib.access.principal import SYSTEM
from chalicelib.core.errors import Conflict
from chalicelib.core.ids import utc_now
from chalicelib.directory import operators, sources
from chalicelib.models import Appeal, Operator, Source
from chalicelib.models.appeals import ACTIVE, WAITING
from chalicelib.routing import appeals, waiting_line
from chalicelib.routing.audit import audit_counters
from chalicelib.routing.intake import submit_appeal
from chalicelib.routing.reassignment import run_reassignment
from chalicelib.schemas.operators import OperatorPatch
from chalicelib.schemas.sources import SourcePatch
from scripts.local.faults import watch_transactions
from tests.integration.helpers import appeal_for, counter_problems, new_operator, new_source, race, snapshot, warm_up

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
        line = [submit_appeal(appeal_for(source.id), viewer=SYSTEM).appeal.id for _ in range(WAITING_PER_ROUND)]
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
            assigned = [
                event for event in appeals.get_history(row.appeal_id, viewer=SYSTEM).events if event.type == "assigned"
            ]
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
    opened = [submit_appeal(appeal_for(source.id), viewer=SYSTEM).appeal.id for _ in range(30)]

    def work(index: int) -> None:
        rng = random.Random(index)
        for step in range(12):
            kind = (index + step) % 3
            if kind == 0:
                submit_appeal(appeal_for(source.id), rng=rng, viewer=SYSTEM)
            elif kind == 1:
                with contextlib.suppress(Conflict):  # another thread closed it first
                    appeals.close_appeal(opened[rng.randrange(len(opened))], viewer=SYSTEM)
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


def test_GIVEN_lapsed_appeals_WHEN_their_operator_accepts_while_the_run_reclaims_THEN_each_ends_one_way_only(
    real_tables: str,
) -> None:
    warm_up()
    anna, boris = new_operator("Anna", max_load=40), new_operator("Boris", max_load=40, is_active=False)
    source = new_source({anna.id: 10, boris.id: 10})
    sources.update_source(source.id, SourcePatch(response_sla_seconds=60))
    lapsing = [submit_appeal(appeal_for(source.id), viewer=SYSTEM).appeal.id for _ in range(40)]
    operators.update_operator(boris.id, OperatorPatch(is_active=True))
    later = utc_now() + timedelta(seconds=90)

    def work(index: int) -> int:
        if index == 0:
            return run_reassignment(now=later, rng=random.Random(1)).reassigned
        accepted = 0
        for appeal_id in lapsing[index - 1 :: 3]:
            try:
                appeals.accept_appeal(appeal_id, anna.id, viewer=SYSTEM)
                accepted += 1
            except Conflict:
                pass  # reclaimed first: no longer hers to accept
        return accepted

    reassigned, *accepted = race(4, work)

    rows = [Appeal.get(appeal_id, consistent_read=True) for appeal_id in lapsing]
    kept = [row for row in rows if row.operator_id == anna.id]
    moved = [row for row in rows if row.operator_id == boris.id]
    assert len(kept) == sum(accepted) and len(moved) == reassigned and len(kept) + len(moved) == 40
    assert all(row.accepted_at is not None and row.reassign_count == 0 for row in kept)
    assert all(row.accepted_at is None and row.lapsed_operator_ids == {anna.id} for row in moved)
    assert Operator.get(anna.id, consistent_read=True).active_load == len(kept)
    assert Operator.get(boris.id, consistent_read=True).active_load == len(moved)
    assert audit_counters(settle=lambda: None).drift_total == 0


def test_GIVEN_a_sticky_source_WHEN_one_lead_sends_ten_messages_at_once_THEN_one_appeal_counts_them_all(
    real_tables: str,
) -> None:
    from chalicelib.directory import sources

    warm_up()
    anna = new_operator("Anna", max_load=20)
    source = new_source({anna.id: 10})
    sources.update_source(source.id, SourcePatch(sticky=True))

    results = race(
        10,
        lambda index: (
            submit_appeal(
                appeal_for(source.id, external_id="tg:burst", message_id=f"burst-{index}"), viewer=SYSTEM
            ).appeal
        ),
    )

    assert len({appeal.id for appeal in results}) == 1
    stored = Appeal.get(results[0].id, consistent_read=True)
    assert stored.message_count == 10
    assert Operator.get(anna.id, consistent_read=True).active_load == 1
    assert counter_problems(snapshot()) == []
