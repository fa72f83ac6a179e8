"""Races on the real engine, through the services (not HTTP).

How often: a race bug that corrupts one racing operation in a hundred slips
through N independent racing operations with probability 0.99**N, so each
test makes at least ~300 of them race (0.99**300 < 5%), in rounds that start
every thread at once on a barrier. Each test also asserts that the race
really happened (lost claims were seen), so a run that happened to serialise
cannot pass vacuously.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from typing import TYPE_CHECKING

from chalicelib.access.principal import SYSTEM
from chalicelib.core.errors import Conflict, ServiceBusy
from chalicelib.directory import operators, stats
from chalicelib.funnel import leads
from chalicelib.models.appeals import ACTIVE, CLOSED, WAITING
from chalicelib.routing import appeals
from chalicelib.routing.intake import Intake, submit_appeal
from chalicelib.schemas.operators import OperatorPatch
from chalicelib.schemas.sources import Strategy
from scripts.local.faults import watch_transactions
from tests.integration.helpers import (
    OperatorHistory,
    appeal_for,
    catch_up_aggregates,
    check_history,
    counter_problems,
    new_operator,
    new_source,
    race,
    snapshot,
    warm_up,
)

if TYPE_CHECKING:
    from chalicelib.schemas.appeals import AppealCreate, AppealOut

LOST_CLAIM = "ConditionalCheckFailed"


def active_appeals_of(operator_id: str) -> list[AppealOut]:
    """The operator's active appeals as GET /operators/{id}/appeals?status=active pages them."""
    found: list[AppealOut] = []
    cursor: str | None = None
    while True:
        page = appeals.list_operator_appeals(operator_id, ACTIVE, 200, cursor)
        found.extend(page.items)
        if page.next is None:
            return found
        cursor = page.next


# --- 400 appeals, 15 slots ----------------------------------------------------------

FULL_ROUNDS = 3
THREADS = 32
APPEALS = 400


def test_GIVEN_3_operators_with_max_load_5_WHEN_32_threads_send_400_appeals_THEN_15_are_active_and_385_wait(
    real_tables: str,
) -> None:
    fights = 0
    for round_ in range(FULL_ROUNDS):
        team = [new_operator(f"Operator {i}", max_load=5) for i in range(3)]
        source = new_source({operator.id: 10 * (i + 1) for i, operator in enumerate(team)})
        warm_up()

        def send(thread: int, source_id: str = source.id) -> list[str]:
            return [
                submit_appeal(appeal_for(source_id), viewer=SYSTEM).appeal.status
                for _ in range(thread, APPEALS, THREADS)
            ]

        with watch_transactions() as log:
            statuses = Counter(status for sent in race(THREADS, send) for status in sent)

        assert statuses == {ACTIVE: 15, WAITING: 385}, f"round {round_}"
        for operator in team:
            assert operators.get_operator(operator.id).current_load == 5, f"round {round_}"
            assert len(active_appeals_of(operator.id)) == 5, f"round {round_}"
        catch_up_aggregates()  # a source's totals come from the appeals stream
        (row,) = stats.distribution_stats(1, None).items  # newest source first: this round's
        assert row.source_id == source.id
        assert (row.total_appeals, row.waiting_now) == (400, 385), f"round {round_}"
        assert [(op.assigned_total, op.active_now) for op in row.operators] == [(5, 5)] * 3, f"round {round_}"
        # TransactionConflict answers come only through the conflict-faithful proxy (DynamoDB's rule).
        contended = sum(n for outcome, n in log.outcomes.items() if "TransactionConflict" in outcome)
        assert log.calls == APPEALS + log.outcomes[LOST_CLAIM] + contended, "every extra one is a lost claim or a retry"
        fights += log.outcomes[LOST_CLAIM] + contended

    assert counter_problems(snapshot()) == []
    # The threads really fought over the last slots (a serialised run proves nothing). Through the
    # conflict-faithful proxy a fight often ends as TransactionConflict (retried) before it can be
    # a lost claim, so both count; directly on DynamoDB Local only lost claims exist.
    assert fights >= FULL_ROUNDS


# --- intake, close, limits and deactivation, all at once ------------------------------

INTAKE_THREADS = 8
INTAKES_PER_THREAD = 45
CLOSE_THREADS = 4


def test_GIVEN_intake_close_limit_changes_and_deactivation_racing_WHEN_they_settle_THEN_counters_are_exact_and_every_claim_kept_the_limit(  # noqa: E501
    real_tables: str,
) -> None:
    history = OperatorHistory()
    team = [new_operator(f"Operator {i}", max_load=3) for i in range(4)]
    weighted = new_source({operator.id: 10 * (i + 1) for i, operator in enumerate(team)})
    by_capacity = new_source({operator.id: 25 for operator in team}, Strategy.WEIGHTED_CAPACITY)
    warm_up()

    created: list[str] = []
    lock = threading.Lock()
    intakes_left = [INTAKE_THREADS]
    done = threading.Event()
    outcomes: Counter[str] = Counter()

    def intake(thread: int) -> None:
        try:
            for k in range(INTAKES_PER_THREAD):
                source_id = weighted.id if (thread + k) % 2 else by_capacity.id
                # Through the conflict proxy, on a loaded machine, an intake's retry budget can run out
                # against the admins' writes and the closes holding the same rows: a 503 that wrote
                # nothing, which the client (the queue) sends again.
                appeal = submit_as_a_client(appeal_for(source_id), rng=random.Random(thread * 1000 + k)).appeal
                with lock:
                    created.append(appeal.id)
                    outcomes[f"intake:{appeal.status}"] += 1
        finally:  # a failed intake must stop the other roles too, or the race never ends
            with lock:
                intakes_left[0] -= 1
                if not intakes_left[0]:
                    done.set()

    def close(thread: int) -> None:
        rng = random.Random(thread)
        while not done.is_set():
            with lock:
                # Recent appeals: mostly still open, and closers collide on some.
                target = rng.choice(created[-30:]) if created else None
            if target is None:
                done.wait(0.001)
                continue
            try:
                appeals.close_appeal(target, viewer=SYSTEM)
                outcome = "closed"
            except Conflict:
                outcome = "already closed"
            with lock:
                outcomes[outcome] += 1

    def admin(change: str, operator_id: str, patch: OperatorPatch) -> None:
        # Under DynamoDB's conflict rule a plain write on an operator row that intakes keep in
        # flight can outlast the retry budget: the documented answer is a 503 that wrote nothing
        # (an admin retries); the counter checks below prove nothing half-happened.
        try:
            operators.update_operator(operator_id, patch)
            outcome = change
        except ServiceBusy:
            outcome = f"{change}: busy"
        with lock:
            outcomes[outcome] += 1

    def change_limits(thread: int) -> None:
        rng = random.Random(thread)
        while not done.wait(0.002):
            admin("limit changed", rng.choice(team).id, OperatorPatch(max_load=rng.randint(0, 5)))

    def toggle_activity(thread: int) -> None:
        rng = random.Random(thread)
        while not done.wait(0.005):
            admin("activity changed", rng.choice(team).id, OperatorPatch(is_active=rng.random() < 0.7))

    roles = [intake] * INTAKE_THREADS + [close] * CLOSE_THREADS + [change_limits, toggle_activity]
    with watch_transactions() as log:
        race(len(roles), lambda thread: roles[thread](thread))

    snap = snapshot()
    assert counter_problems(snap) == []
    for operator in team:
        stored = operators.get_operator(operator.id).current_load
        assert stored == len(active_appeals_of(operator.id)) == snap.active_by_operator()[operator.id]
    report = check_history(history.changes(), snap.operators)
    assert report.problems == []
    assert report.claims == sum(1 for a in snap.appeals if a.operator_id), "the stream saw every claim"
    # The race covered what it claims to cover.
    assert outcomes["intake:active"] and outcomes["intake:waiting"] and outcomes["closed"]
    assert snap.statuses()[CLOSED] and snap.statuses()[WAITING]
    contended = sum(n for outcome, n in log.outcomes.items() if "TransactionConflict" in outcome)
    assert log.outcomes[LOST_CLAIM] + contended >= 1, "no claim ever lost a race or met a conflict"
    assert report.lowered_below_load >= 1, "max_load was never lowered below the load"
    assert report.deactivated_with_load >= 1, "nobody was deactivated while holding appeals"


# --- one lead per external id ------------------------------------------------------

LEAD_ROUNDS = 15
LEAD_THREADS = 20
# 20 transactions on one lead item through the conflict-faithful proxy can outlast the service's
# retry budget on a loaded machine: the documented answer is a 503 that wrote nothing, which a
# client retries (Retry-After). The counts below prove the refused attempts wrote nothing.
CLIENT_RETRIES = 5


def submit_as_a_client(request: AppealCreate, rng: random.Random | None = None) -> Intake:
    for _ in range(CLIENT_RETRIES - 1):
        try:
            return submit_appeal(request, viewer=SYSTEM, rng=rng)
        except ServiceBusy:
            continue
    return submit_appeal(request, viewer=SYSTEM, rng=rng)


def test_GIVEN_a_new_lead_WHEN_20_threads_send_its_first_appeal_at_once_THEN_there_is_one_lead_counting_20_appeals(
    real_tables: str,
) -> None:
    operator = new_operator("Anna", max_load=1000)
    source = new_source({operator.id: 10})
    warm_up()
    run = uuid.uuid4().hex[:8]

    for round_ in range(LEAD_ROUNDS):
        external_id = f"tg:{run}-{round_}"
        intakes = race(
            LEAD_THREADS,
            lambda _, external_id=external_id: submit_as_a_client(appeal_for(source.id, external_id=external_id)),
        )

        found = leads.list_leads(10, None, external_id=external_id).items
        assert len(found) == 1, f"round {round_}"
        (lead,) = found
        assert lead.appeals_count == LEAD_THREADS, f"round {round_}"
        assert {intake.appeal.lead_id for intake in intakes} == {lead.id}, f"round {round_}"
        assert len(appeals.list_lead_appeals(lead.id, 200, None).items) == LEAD_THREADS, f"round {round_}"
        assert lead.created_at in {intake.appeal.created_at for intake in intakes}, "created_at set once, by a winner"

    snap = snapshot()
    assert len(snap.leads) == LEAD_ROUNDS
    assert counter_problems(snap) == []


# --- one appeal per (source, message) ----------------------------------------------

MESSAGE_ROUNDS = 30
MESSAGE_THREADS = 10


def test_GIVEN_one_message_WHEN_10_threads_deliver_it_at_once_THEN_one_appeal_is_created_and_assigned_once(
    real_tables: str,
) -> None:
    warm_up()
    for round_ in range(MESSAGE_ROUNDS):
        operator = new_operator("Anna", max_load=5)
        source = new_source({operator.id: 10})
        message = appeal_for(source.id, message_id=f"update-{round_}")

        intakes: list[Intake] = race(MESSAGE_THREADS, lambda _, message=message: submit_appeal(message, viewer=SYSTEM))

        assert sum(intake.created for intake in intakes) == 1, f"round {round_}"
        assert len({intake.appeal.id for intake in intakes}) == 1, f"round {round_}"
        assert {(i.appeal.status, i.appeal.operator.id if i.appeal.operator else None) for i in intakes} == {
            (ACTIVE, operator.id)
        }, f"round {round_}"
        assert operators.get_operator(operator.id).current_load == 1, f"round {round_}"
        catch_up_aggregates()  # a source's totals come from the appeals stream
        (row,) = stats.distribution_stats(1, None).items  # newest source first: this round's
        assert row.source_id == source.id
        assert (row.total_appeals, row.operators[0].assigned_total) == (1, 1), f"round {round_}"

    snap = snapshot()
    assert len(snap.appeals) == MESSAGE_ROUNDS
    assert counter_problems(snap) == []
