"""Accepting appeals, the response SLA, escalation and redistribution."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.core.ids import utc_now
from chalicelib.routing.reassignment import run_reassignment

if TYPE_CHECKING:
    from chalicelib.schemas.jobs import ReassignReport
    from tests.support import Api

SLA = 60


def after_the_sla() -> ReassignReport:
    """The scheduled run, as it would see the clock one SLA (and a bit) from now."""
    return run_reassignment(now=utc_now() + timedelta(seconds=SLA + 30))


def team(api: Api, *names: str, active: int = 1, sla: int | None = SLA) -> tuple[dict, list[dict]]:
    """A source with an SLA and operators; only the first `active` are on."""
    people = [api.operator(name, max_load=3, is_active=index < active) for index, name in enumerate(names)]
    source = api.source(response_sla_seconds=sla) if sla else api.source()
    api.weights(source["id"], {person["id"]: 10 for person in people})
    return source, people


def activate(api: Api, operator: dict) -> None:
    assert api.patch(f"/operators/{operator['id']}", {"is_active": True}).status == 200


def load(api: Api, operator: dict) -> int:
    return api.get(f"/operators/{operator['id']}").body["current_load"]


def test_GIVEN_an_assigned_appeal_WHEN_its_operator_accepts_THEN_the_sla_clock_stops(api: Api) -> None:
    source, (anna,) = team(api, "Anna")
    appeal = api.appeal(source["id"])
    assert appeal["accept_by"] is not None

    reply = api.post(f"/appeals/{appeal['id']}/accept", {"operator_id": anna["id"]})

    assert reply.status == 200
    assert reply.body["accepted_at"] is not None and reply.body["accept_by"] is None
    assert after_the_sla().lapsed == 0
    assert api.get(f"/appeals/{appeal['id']}").body["operator"]["id"] == anna["id"]
    again = api.post(f"/appeals/{appeal['id']}/accept", {"operator_id": anna["id"]})
    assert (again.status, again.body["accepted_at"]) == (200, reply.body["accepted_at"])


def test_GIVEN_someone_elses_or_a_waiting_appeal_WHEN_accepting_THEN_409(api: Api) -> None:
    source, (anna, boris) = team(api, "Anna", "Boris")
    appeal = api.appeal(source["id"])
    api.patch(f"/operators/{anna['id']}", {"max_load": 1})
    waiting = api.appeal(source["id"])

    by_other = api.post(f"/appeals/{appeal['id']}/accept", {"operator_id": boris["id"]})
    on_waiting = api.post(f"/appeals/{waiting['id']}/accept", {"operator_id": anna["id"]})
    unknown = api.post("/appeals/ap_0000000000000/accept", {"operator_id": anna["id"]})
    malformed = api.post(f"/appeals/{appeal['id']}/accept", {})

    assert by_other.status == 409 and "only its operator" in by_other.body["message"]
    assert on_waiting.status == 409
    assert unknown.status == 404
    assert malformed.status == 422 and malformed.body["errors"][0]["loc"] == ["body", "operator_id"]


def test_GIVEN_an_appeal_past_its_sla_WHEN_the_run_comes_THEN_another_operator_gets_it_and_the_first_is_freed(
    api: Api,
) -> None:
    source, (anna, boris) = team(api, "Anna", "Boris")
    appeal = api.appeal(source["id"])
    activate(api, boris)

    report = after_the_sla()

    assert (report.lapsed, report.reassigned) == (1, 1)
    moved = api.get(f"/appeals/{appeal['id']}").body
    assert moved["operator"]["id"] == boris["id"] and moved["reassign_count"] == 1
    assert (load(api, anna), load(api, boris)) == (0, 1)
    event = api.get(f"/appeals/{appeal['id']}/history").body["events"][-1]
    assert (event["type"], event["previous_operator_id"], event["reason"]) == ("reassigned", anna["id"], "sla_lapsed")
    assert event["decision"]["trigger"] == "sla_lapse" and event["decision"]["excluded"] == [anna["id"]]
    by_id = {c["operator_id"]: c for c in event["decision"]["candidates"]}
    assert by_id[anna["id"]]["eligible"] is False and by_id[boris["id"]]["eligible"] is True


def test_GIVEN_an_appeal_within_its_sla_WHEN_the_run_comes_THEN_it_stays(api: Api) -> None:
    source, (anna, boris) = team(api, "Anna", "Boris")
    appeal = api.appeal(source["id"])
    activate(api, boris)

    report = run_reassignment(now=utc_now() + timedelta(seconds=SLA - 20))

    assert report.lapsed == 0
    assert api.get(f"/appeals/{appeal['id']}").body["operator"]["id"] == anna["id"]


def test_GIVEN_nobody_else_eligible_WHEN_the_sla_lapses_THEN_the_appeal_waits_and_never_returns_to_that_operator(
    api: Api,
) -> None:
    source, (anna, _offline) = team(api, "Anna", "Boris")
    appeal = api.appeal(source["id"])

    report = after_the_sla()

    assert (report.lapsed, report.returned_to_line, report.still_waiting) == (1, 1, 1)
    waiting = api.get(f"/appeals/{appeal['id']}").body
    assert (waiting["status"], waiting["operator"], waiting["escalated"]) == ("waiting", None, False)
    assert load(api, anna) == 0  # free again, but the line skips her for this appeal
    assert api.caught_up().get("/stats/distribution").body["items"][0]["waiting_now"] == 1
    newcomer = api.appeal(source["id"])
    assert newcomer["operator"]["id"] == anna["id"]


def test_GIVEN_every_operator_of_a_source_let_an_appeal_lapse_WHEN_the_line_is_drained_THEN_it_goes_to_a_person(
    api: Api,
) -> None:
    source, (anna,) = team(api, "Anna")
    appeal = api.appeal(source["id"])
    after_the_sla()  # back to the line; Anna may never get it again, and she is the only one

    report = run_reassignment()

    assert report.drained == 0
    stuck = api.get(f"/appeals/{appeal['id']}").body
    assert (stuck["status"], stuck["escalated"]) == ("waiting", True)
    assert [item["id"] for item in api.get(f"/sources/{source['id']}/waiting?escalated=true").body["items"]] == [
        appeal["id"]
    ]
    event = api.get(f"/appeals/{appeal['id']}/history").body["events"][-1]
    assert (event["type"], event["reason"]) == ("escalated", "no_operator_left")
    assert api.post(f"/appeals/{appeal['id']}/assign", {"operator_id": anna["id"]}).status == 200


def test_GIVEN_three_lapses_WHEN_the_fourth_operator_lets_it_lapse_too_THEN_it_escalates_to_a_human(api: Api) -> None:
    source, people = team(api, "Anna", "Boris", "Chen", "Dana", "Emil")
    appeal = api.appeal(source["id"])
    start, runs = utc_now(), iter(range(1, 10))

    def next_run() -> ReassignReport:
        # Each run a full SLA after the one before (which restarted the clock).
        return run_reassignment(now=start + next(runs) * timedelta(seconds=SLA + 30))

    for next_one in people[1:4]:
        activate(api, next_one)
        assert next_run().reassigned == 1
    assert api.get(f"/appeals/{appeal['id']}").body["operator"]["id"] == people[3]["id"]

    report = next_run()

    assert report.escalated == 1
    escalated = api.get(f"/appeals/{appeal['id']}").body
    assert (escalated["status"], escalated["escalated"], escalated["operator"]) == ("waiting", True, None)
    assert escalated["reassign_count"] == 4
    assert [load(api, person) for person in people] == [0, 0, 0, 0, 0]
    # A free, never-lapsed operator appears: a person decides, not the drains.
    activate(api, people[4])
    assert next_run().drained == 0
    assert api.get(f"/appeals/{appeal['id']}").body["status"] == "waiting"
    kinds = [event["type"] for event in api.get(f"/appeals/{appeal['id']}/history").body["events"]]
    assert kinds == ["created", "assigned", "reassigned", "reassigned", "reassigned", "escalated"]
    escalated_line = api.get(f"/sources/{source['id']}/waiting?escalated=true").body["items"]
    assert [item["id"] for item in escalated_line] == [appeal["id"]]
    assert api.get(f"/sources/{source['id']}/waiting").body["items"] == []


def test_GIVEN_an_escalated_appeal_WHEN_a_person_assigns_it_THEN_that_operator_gets_it(api: Api) -> None:
    source, (anna, boris) = team(api, "Anna", "Boris", active=2, sla=None)
    api.patch(f"/operators/{anna['id']}", {"max_load": 0})
    api.patch(f"/operators/{boris['id']}", {"max_load": 0})
    appeal = api.appeal(source["id"])
    chen = api.operator("Chen", max_load=1)  # serves no source: a person may still choose her

    assigned = api.post(f"/appeals/{appeal['id']}/assign", {"operator_id": chen["id"]})

    assert assigned.status == 200
    assert (assigned.body["status"], assigned.body["operator"]["id"]) == ("active", chen["id"])
    assert load(api, chen) == 1
    assert api.get(f"/sources/{source['id']}/waiting").body["items"] == []
    event = api.get(f"/appeals/{appeal['id']}/history").body["events"][-1]
    assert (event["type"], event["reason"]) == ("assigned", "assigned_by_hand")
    assert api.post(f"/appeals/{appeal['id']}/close").status == 200
    assert load(api, chen) == 0


def test_GIVEN_bad_manual_assignments_WHEN_posted_THEN_409_or_404(api: Api) -> None:
    source, (anna,) = team(api, "Anna", sla=None)
    active = api.appeal(source["id"])
    api.patch(f"/operators/{anna['id']}", {"max_load": 1})
    waiting = api.appeal(source["id"])

    on_active = api.post(f"/appeals/{active['id']}/assign", {"operator_id": anna["id"]})
    to_full = api.post(f"/appeals/{waiting['id']}/assign", {"operator_id": anna["id"]})
    to_unknown = api.post(f"/appeals/{waiting['id']}/assign", {"operator_id": "op_0000000000000"})

    assert on_active.status == 409 and "only a waiting appeal" in on_active.body["message"]
    assert to_full.status == 409 and "max_load" in to_full.body["message"]
    assert to_unknown.status == 404
    assert api.get(f"/appeals/{waiting['id']}").body["status"] == "waiting"


def test_GIVEN_a_source_without_sla_WHEN_the_run_comes_much_later_THEN_nothing_is_reclaimed(api: Api) -> None:
    source, (_, boris) = team(api, "Anna", "Boris", sla=None)
    appeal = api.appeal(source["id"])
    assert appeal["accept_by"] is None
    activate(api, boris)

    assert run_reassignment(now=utc_now() + timedelta(days=30)).lapsed == 0


def test_GIVEN_an_operator_with_unaccepted_appeals_WHEN_deactivated_with_redistribute_THEN_they_move_and_accepted_stay(
    api: Api,
) -> None:
    source, (anna, boris) = team(api, "Anna", "Boris", sla=None)
    accepted, unaccepted = api.appeal(source["id"]), api.appeal(source["id"])
    api.post(f"/appeals/{accepted['id']}/accept", {"operator_id": anna["id"]})
    activate(api, boris)

    reply = api.patch(f"/operators/{anna['id']}?redistribute=true", {"is_active": False})

    assert reply.status == 200 and reply.body["current_load"] == 1
    assert api.get(f"/appeals/{unaccepted['id']}").body["operator"]["id"] == boris["id"]
    assert api.get(f"/appeals/{accepted['id']}").body["operator"]["id"] == anna["id"]
    event = api.get(f"/appeals/{unaccepted['id']}/history").body["events"][-1]
    assert (event["type"], event["reason"], event["decision"]["trigger"]) == (
        "reassigned",
        "operator_deactivated",
        "redistribute",
    )


def test_GIVEN_an_operator_with_appeals_WHEN_deactivated_without_redistribute_THEN_they_stay(api: Api) -> None:
    source, (anna, boris) = team(api, "Anna", "Boris", sla=None)
    appeal = api.appeal(source["id"])
    activate(api, boris)

    reply = api.patch(f"/operators/{anna['id']}", {"is_active": False})

    assert reply.body["current_load"] == 1
    assert api.get(f"/appeals/{appeal['id']}").body["operator"]["id"] == anna["id"]


def test_GIVEN_redistribute_without_deactivating_WHEN_patching_THEN_422_on_the_query_flag(api: Api) -> None:
    _, (anna,) = team(api, "Anna", sla=None)

    reply = api.patch(f"/operators/{anna['id']}?redistribute=true", {"max_load": 4})

    assert reply.status == 422
    assert reply.body["errors"][0]["loc"] == ["query", "redistribute"]


def test_GIVEN_nobody_free_WHEN_redistributing_THEN_the_appeals_go_back_to_the_line_and_the_counter_is_released(
    api: Api,
) -> None:
    source, (anna,) = team(api, "Anna", sla=None)
    appeal = api.appeal(source["id"])

    api.patch(f"/operators/{anna['id']}?redistribute=true", {"is_active": False})

    assert api.get(f"/appeals/{appeal['id']}").body["status"] == "waiting"
    assert load(api, anna) == 0
    activate(api, anna)  # she may take it again: deactivation is not a lapse
    assert api.get(f"/appeals/{appeal['id']}").body["operator"]["id"] == anna["id"]
