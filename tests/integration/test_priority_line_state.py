"""A priority line never starves an appeal: a stateful model on DynamoDB Local.

Hypothesis runs random sequences of arrivals (VIP or not, hot or cold score,
new or returning leads), pauses (so arrivals spread over more than the line's
`max_jump_seconds`) and closes that free the one operator's slots (each close
drains the line at once), through the real services. After every step:

- every waiting appeal's stored key is the one `line_order.line_key` gives for
  its arrival (the stored `created_at`) and its priority as the model knows it;
- whatever a drain handed out had the smallest key in the line (the order);
- no starvation (guarantee 11): when an appeal j is handed out while i waits,
  j arrived at most `max_jump_seconds` after i. So every waiting appeal is
  handed out before anything that arrived more than max_jump_seconds after it.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chalicelib.access.principal import SYSTEM
from chalicelib.core.ids import lead_id_for
from chalicelib.directory import operators, sources
from chalicelib.directory.weights import replace_weights
from chalicelib.models import ALL_MODELS, Lead, create_tables
from chalicelib.models.appeals import ACTIVE, WAITING, get_appeal_row
from chalicelib.routing import appeals
from chalicelib.routing.intake import submit_appeal
from chalicelib.routing.line_order import LineMode, LineOrder, Priority, line_key, priority_level
from chalicelib.schemas.appeals import AppealCreate
from chalicelib.schemas.operators import OperatorCreate
from chalicelib.schemas.sources import SourceCreate, WeightIn, WeightSet

# Whole seconds only; 1 s keeps a run short while pauses of up to 1.2 s still cross it.
MAX_JUMP = 1
ORDER = LineOrder(mode=LineMode.PRIORITY, max_jump_seconds=MAX_JUMP, hot_threshold=0.7)
RETURNING_IDS = ("tg:r1", "tg:r2", "tg:r3")


@dataclass
class Waiting:
    id: str
    arrival: datetime
    key: str


def _arrival(created_at: str) -> datetime:
    return datetime.fromisoformat(created_at.replace("Z", "+00:00"))


class PriorityLineMachine(RuleBasedStateMachine):
    table_prefix: ClassVar[str] = ""
    seen: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self._saved_prefix = os.environ.get("TABLE_PREFIX")
        os.environ["TABLE_PREFIX"] = self.table_prefix
        create_tables()
        self.source_id = sources.create_source(SourceCreate(name="Priority", line_order=ORDER)).id
        self.active: list[str] = []
        self.waiting: dict[str, Waiting] = {}
        self.lead_appeals: Counter[str] = Counter()
        self.scores: dict[str, float] = {}
        self.handed_out = 0
        self.serial = 0
        self.capacity = 0

    def teardown(self) -> None:
        try:
            for model in ALL_MODELS:
                if model.exists():
                    model.delete_table()
        finally:
            if self._saved_prefix is None:
                os.environ.pop("TABLE_PREFIX", None)
            else:
                os.environ["TABLE_PREFIX"] = self._saved_prefix

    def _saw(self, what: str) -> None:
        event(what)
        self.seen[what] += 1

    @initialize(max_load=st.integers(1, 2))
    def team(self, max_load: int) -> None:
        operator = operators.create_operator(OperatorCreate(name="Anna", max_load=max_load))
        replace_weights(self.source_id, WeightSet([WeightIn(operator_id=operator.id, weight=10)]))
        self.capacity = max_load

    @rule(
        returning=st.sampled_from((None, *RETURNING_IDS)),
        vip=st.booleans(),
        score=st.sampled_from((None, 0.2, 0.9)),
        seed=st.integers(0, 2**16),
    )
    def arrive(self, returning: str | None, vip: bool, score: float | None, seed: int) -> None:
        self.serial += 1
        external_id = returning or f"tg:new-{self.serial}"
        if score is not None and external_id not in self.scores:
            # The lead's AI score, as the scorer would have written it.
            Lead(lead_id_for(external_id)).update(actions=[Lead.ai_score.set(score), Lead.external_id.set(external_id)])
            self.scores[external_id] = score
        priority = Priority(score=self.scores.get(external_id), returning=self.lead_appeals[external_id] > 0, vip=vip)
        request = AppealCreate(lead_external_id=external_id, source_id=self.source_id, message="hi", vip=vip)

        out = submit_appeal(request, viewer=SYSTEM, rng=random.Random(seed)).appeal

        self.lead_appeals[external_id] += 1
        if out.status == ACTIVE:
            assert not self.waiting, "a new appeal went past a waiting line"
            self.active.append(out.id)
            return
        assert out.status == WAITING and len(self.active) == self.capacity
        arrival = _arrival(get_appeal_row(out.id).created_at)
        self.waiting[out.id] = Waiting(out.id, arrival, line_key(ORDER, arrival, out.id, priority))
        self._saw(f"waiting at level {priority_level(ORDER, priority)}")

    @rule(seconds=st.sampled_from((0.3, 0.7, 1.2)))
    def pause(self, seconds: float) -> None:
        time.sleep(seconds)

    @precondition(lambda self: self.active)
    @rule(which=st.integers(0, 1))
    def close(self, which: int) -> None:
        closing = self.active.pop(which % len(self.active))
        before = dict(self.waiting)

        appeals.close_appeal(closing, viewer=SYSTEM)

        served = [w for w in before.values() if get_appeal_row(w.id).status == ACTIVE]
        assert len(served) == min(1, len(before)), "a freed slot must go to the line at once"
        for handed in served:
            del self.waiting[handed.id]
            self.active.append(handed.id)
            self.handed_out += 1
            for other in self.waiting.values():
                assert handed.key < other.key, "the drain must hand out the smallest key"
                # No starvation: nothing that arrived more than MAX_JUMP after a waiting appeal goes first.
                assert handed.arrival <= other.arrival + timedelta(seconds=MAX_JUMP), (
                    f"{handed.id} overtook {other.id} by {(handed.arrival - other.arrival).total_seconds()} s"
                )
                if handed.arrival > other.arrival:
                    self._saw("overtook an earlier arrival")

    @invariant()
    def stored_keys_are_the_models(self) -> None:
        for waiting in self.waiting.values():
            row = get_appeal_row(waiting.id)
            assert (row.status, row.waiting_key) == (WAITING, waiting.key)


def test_GIVEN_a_priority_line_WHEN_random_arrivals_pauses_and_drains_THEN_no_appeal_starves(
    real_tables: str,
) -> None:
    seen: Counter[str] = Counter()
    machine = type("Machine", (PriorityLineMachine,), {"table_prefix": f"{real_tables}-pl", "seen": seen})

    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=8,
            stateful_step_count=25,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

    # The walks reached both sides of the bound: priority overtaking, and plain appeals waiting.
    assert seen["overtook an earlier arrival"] >= 1, dict(seen)
    assert seen["waiting at level 0"] >= 1, dict(seen)
