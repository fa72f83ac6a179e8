"""Faults on the transaction path, injected through botocore event hooks.

Nothing of ours is patched: the hooks sit on the botocore clients the services
already use (chalicelib.models.dynamodb_clients()). A transaction that fails
once is retried, by the service (cancellation, throttling) or by botocore
(transport errors); one that keeps failing becomes a clean ServiceBusy. Either
way every counter still matches the appeals afterwards.

Each test builds its own operators and source, so the module shares one set
of tables (a fresh table prefix costs ~0.6 s of client setup per test); the
audits read every row, so a test also re-checks what the earlier ones left.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from chalicelib.access.principal import SYSTEM
from chalicelib.core.errors import ServiceBusy
from chalicelib.core.ids import lead_id_for
from chalicelib.directory import operators
from chalicelib.directory.weights import get_weights, replace_weights
from chalicelib.models import Operator, Source
from chalicelib.models.appeals import ACTIVE, CLOSED, WAITING
from chalicelib.routing import appeals, waiting_line
from chalicelib.routing.intake import submit_appeal
from chalicelib.schemas.appeals import AppealCreate, AppealOut
from chalicelib.schemas.sources import SourceOut, WeightIn, WeightSet
from scripts.local.faults import Fault, failing_transactions
from tests.integration.helpers import (
    appeal_for,
    counter_problems,
    new_operator,
    new_source,
    race,
    snapshot,
    tables_on,
    warm_up,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from chalicelib.schemas.operators import OperatorOut

# Who retries: the service sends a new transaction; botocore resends the same HTTP request.
SERVICE_RETRIES = (Fault.CONFLICT, Fault.THROTTLING)
BOTOCORE_RESENDS = (Fault.CONNECT_TIMEOUT, Fault.LOST_RESPONSE)
ONE_OFF = SERVICE_RETRIES + BOTOCORE_RESENDS
# A lasting conflict takes the same path as lasting throttling ("contended"), so
# one of the two is enough.
LASTING = (Fault.THROTTLING, Fault.UNREACHABLE)


@pytest.fixture(scope="module")
def shared_tables(dynamodb_local: str) -> Iterator[str]:
    """Like `real_tables`, once for the module."""
    with tables_on(dynamodb_local, f"it-faults-{uuid.uuid4().hex[:8]}") as prefix:
        yield prefix


def one_operator_source(max_load: int = 5) -> tuple[OperatorOut, SourceOut]:
    operator = new_operator("Anna", max_load=max_load)
    source = new_source({operator.id: 10})
    warm_up()
    return operator, source


def assert_retried_by_the_right_layer(fault: Fault, calls: int, sends: int) -> None:
    if fault in SERVICE_RETRIES:
        assert (calls, sends) == (2, 1), "the service should have sent a second transaction"
    else:
        assert (calls, sends) == (1, 2), "botocore should have resent the same transaction"


@pytest.mark.parametrize("fault", ONE_OFF)
def test_GIVEN_the_next_transaction_fails_once_WHEN_an_appeal_arrives_THEN_it_is_created_and_assigned_exactly_once(
    shared_tables: str, fault: Fault
) -> None:
    operator, source = one_operator_source()

    with failing_transactions(fault) as log:
        intake = submit_appeal(appeal_for(source.id), viewer=SYSTEM)

    assert log.injected == 1
    assert_retried_by_the_right_layer(fault, log.calls, log.sends)
    assert intake.created
    assert intake.appeal.status == ACTIVE
    assert operators.get_operator(operator.id).current_load == 1
    snap = snapshot()
    # A lost response was resent with the same ClientRequestToken: applied once, not twice.
    assert [a.appeal_id for a in snap.appeals if a.source_id == source.id] == [intake.appeal.id]
    assert int(snap.leads[intake.appeal.lead_id].appeals_count) == 1
    assert int(snap.sources[source.id].appeals_total) == 1
    assert counter_problems(snap) == []


@pytest.mark.parametrize("fault", ONE_OFF)
def test_GIVEN_the_next_transaction_fails_once_WHEN_an_active_appeal_is_closed_THEN_its_slot_is_freed_exactly_once(
    shared_tables: str, fault: Fault
) -> None:
    operator, source = one_operator_source()
    appeal = submit_appeal(appeal_for(source.id), viewer=SYSTEM).appeal

    with failing_transactions(fault) as log:
        closed = appeals.close_appeal(appeal.id, viewer=SYSTEM)

    assert log.injected == 1
    assert_retried_by_the_right_layer(fault, log.calls, log.sends)
    assert closed.status == CLOSED
    assert appeals.get_appeal(appeal.id, viewer=SYSTEM).status == CLOSED
    assert operators.get_operator(operator.id).current_load == 0
    assert counter_problems(snapshot()) == []


@pytest.mark.parametrize("fault", SERVICE_RETRIES)
def test_GIVEN_the_next_transaction_fails_once_WHEN_weights_are_replaced_THEN_they_are_applied(
    shared_tables: str, fault: Fault
) -> None:
    anna, source = one_operator_source()
    boris = new_operator("Boris")

    with failing_transactions(fault, conflict_on="-weights") as log:
        replace_weights(source.id, WeightSet([WeightIn(operator_id=boris.id, weight=30)]))

    assert (log.injected, log.calls) == (1, 2)
    assert {item.operator_id: item.weight for item in get_weights(source.id).items} == {boris.id: 30}
    assert anna.id not in {item.operator_id for item in get_weights(source.id).items}


@pytest.mark.parametrize("fault", LASTING)
def test_GIVEN_transactions_keep_failing_WHEN_an_appeal_arrives_THEN_service_busy_and_nothing_is_written(
    shared_tables: str, fault: Fault
) -> None:
    operator, source = one_operator_source()
    message = appeal_for(source.id, message_id="update-1")

    with failing_transactions(fault, times=None) as log, pytest.raises(ServiceBusy):
        submit_appeal(message, viewer=SYSTEM)

    assert log.injected == log.calls >= 1
    snap = snapshot()
    assert [a for a in snap.appeals if a.source_id == source.id] == []
    assert lead_id_for(message.lead_external_id) not in snap.leads
    assert int(snap.sources[source.id].appeals_total) == 0
    assert operators.get_operator(operator.id).current_load == 0
    assert counter_problems(snap) == []
    # Redelivered once DynamoDB is back, the message lands exactly once.
    again = submit_appeal(message, viewer=SYSTEM)
    assert again.created and again.appeal.status == ACTIVE
    assert operators.get_operator(operator.id).current_load == 1


@pytest.mark.parametrize("fault", LASTING)
def test_GIVEN_transactions_keep_failing_WHEN_an_appeal_is_closed_THEN_service_busy_and_it_stays_active(
    shared_tables: str, fault: Fault
) -> None:
    operator, source = one_operator_source()
    appeal = submit_appeal(appeal_for(source.id), viewer=SYSTEM).appeal

    with failing_transactions(fault, times=None) as log, pytest.raises(ServiceBusy):
        appeals.close_appeal(appeal.id, viewer=SYSTEM)

    assert log.injected == log.calls >= 1
    assert appeals.get_appeal(appeal.id, viewer=SYSTEM).status == ACTIVE
    assert operators.get_operator(operator.id).current_load == 1
    assert counter_problems(snapshot()) == []
    assert appeals.close_appeal(appeal.id, viewer=SYSTEM).status == CLOSED
    assert operators.get_operator(operator.id).current_load == 0


def test_GIVEN_dynamodb_is_unreachable_WHEN_weights_are_replaced_THEN_service_busy_and_the_old_set_stays(
    shared_tables: str,
) -> None:
    anna, source = one_operator_source()
    boris = new_operator("Boris")

    with failing_transactions(Fault.UNREACHABLE, times=None), pytest.raises(ServiceBusy):
        replace_weights(source.id, WeightSet([WeightIn(operator_id=boris.id, weight=30)]))

    assert {item.operator_id: item.weight for item in get_weights(source.id).items} == {anna.id: 10}


def test_GIVEN_contention_outlasting_the_retry_budget_WHEN_a_line_is_drained_THEN_the_drain_stops_and_the_line_is_kept(
    shared_tables: str,
) -> None:
    operator, source = one_operator_source(max_load=0)
    waiting = [submit_appeal(appeal_for(source.id), viewer=SYSTEM).appeal for _ in range(2)]
    Operator(operator.id).update(actions=[Operator.max_load.set(2)])

    with failing_transactions(Fault.CONFLICT, times=None) as log:
        drained = waiting_line.drain_source(Source.get(source.id, consistent_read=True))

    assert drained.handed_out == 0 and log.injected == log.calls >= 1
    assert [appeals.get_appeal(a.id, viewer=SYSTEM).status for a in waiting] == [WAITING, WAITING]
    # The next run, with the contention gone, serves the line.
    assert waiting_line.drain_source(Source.get(source.id, consistent_read=True)).handed_out == 2
    assert counter_problems(snapshot()) == []


CHAOS_THREADS = 8
CHAOS_APPEALS = 25


def test_GIVEN_conflicts_throttling_and_lost_responses_sprinkled_WHEN_threads_send_and_close_appeals_THEN_counters_stay_exact(  # noqa: E501
    shared_tables: str,
) -> None:
    team = [new_operator(f"Operator {i}", max_load=4) for i in range(3)]
    source = new_source({operator.id: 10 for operator in team})
    warm_up()
    busy = Counter[str]()
    lock = threading.Lock()

    def patiently(call: str, action: Callable[[], AppealOut]) -> AppealOut:
        # What SQS redelivery or a retrying client does with a 503.
        while True:
            try:
                return action()
            except ServiceBusy:
                with lock:
                    busy[call] += 1

    def work(thread: int) -> list[AppealOut]:
        sent = []
        for k in range(CHAOS_APPEALS):
            message = AppealCreate(
                lead_external_id=f"tg:{k % 5}", source_id=source.id, message="hi", message_id=f"m-{thread}-{k}"
            )
            sent.append(patiently("intake", lambda message=message: submit_appeal(message, viewer=SYSTEM).appeal))
        for appeal in sent[::2]:
            patiently("close", lambda appeal=appeal: appeals.close_appeal(appeal.id, viewer=SYSTEM))
        return sent

    with (
        failing_transactions(Fault.CONFLICT, times=None, every=5) as conflicts,
        failing_transactions(Fault.THROTTLING, times=None, every=7) as throttles,
        failing_transactions(Fault.LOST_RESPONSE, times=None, every=29) as lost,
    ):
        sent = [appeal for appeals_sent in race(CHAOS_THREADS, work) for appeal in appeals_sent]

    assert conflicts.injected and throttles.injected and lost.injected
    snap = snapshot()
    mine = [a for a in snap.appeals if a.source_id == source.id]
    assert len(mine) == len({appeal.id for appeal in sent}) == CHAOS_THREADS * CHAOS_APPEALS
    statuses = Counter(a.status for a in mine)
    assert statuses[CLOSED] == CHAOS_THREADS * ((CHAOS_APPEALS + 1) // 2)
    assert statuses[ACTIVE] + statuses[WAITING] == CHAOS_THREADS * (CHAOS_APPEALS // 2)
    assert counter_problems(snap) == []
