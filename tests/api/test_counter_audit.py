"""The counter audit proves the load counters exact, and repairs one that is not."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.models import Operator
from chalicelib.routing.audit import audit_counters

if TYPE_CHECKING:
    from tests.support import Api


def no_pause() -> None:
    """The index is synchronous in moto: nothing to wait for."""


def busy_operator(api: Api) -> dict:
    anna = api.operator("Anna", max_load=5)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    api.appeal(source["id"])
    closed = api.appeal(source["id"])
    api.post(f"/appeals/{closed['id']}/close")
    return anna


def test_GIVEN_exact_counters_WHEN_audited_THEN_no_drift(api: Api) -> None:
    busy_operator(api)
    api.operator("Idle")

    report = audit_counters(settle=no_pause)

    assert (report.operators_checked, report.drift_total, report.drifts) == (2, 0, [])


def test_GIVEN_a_counter_corrupted_on_purpose_WHEN_audited_THEN_the_drift_is_reported_and_repaired(api: Api) -> None:
    anna = busy_operator(api)
    Operator(anna["id"]).update(actions=[Operator.active_load.set(4)])

    report = audit_counters(settle=no_pause)

    assert report.drift_total == 3
    assert [(d.operator_id, d.recorded, d.actual, d.repaired) for d in report.drifts] == [(anna["id"], 4, 1, True)]
    assert api.get(f"/operators/{anna['id']}").body["current_load"] == 1
    assert audit_counters(settle=no_pause).drift_total == 0


def test_GIVEN_a_counter_that_moves_while_settling_WHEN_audited_THEN_it_is_not_repaired(api: Api) -> None:
    anna = busy_operator(api)
    Operator(anna["id"]).update(actions=[Operator.active_load.set(4)])

    def meanwhile() -> None:
        Operator(anna["id"]).update(actions=[Operator.active_load.set(3)])

    report = audit_counters(settle=meanwhile)

    assert report.drifts == []
    assert api.get(f"/operators/{anna['id']}").body["current_load"] == 3


def test_GIVEN_the_admin_route_WHEN_running_the_audit_THEN_it_answers_the_report(api: Api) -> None:
    busy_operator(api)

    reply = api.post("/admin/jobs/audit/run")

    assert reply.status == 200 and reply.body["drift_total"] == 0
