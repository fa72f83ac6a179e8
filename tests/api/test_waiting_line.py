"""The waiting line is served the moment capacity appears, oldest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.models import Appeal, Operator, Source
from chalicelib.routing import waiting_line
from chalicelib.routing.reassignment import run_reassignment

if TYPE_CHECKING:
    from tests.support import Api


def full_team(api: Api) -> tuple[dict, dict]:
    """One operator (max_load 1) on one source, already busy."""
    anna = api.operator("Anna", max_load=1)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    return anna, source


def test_GIVEN_a_full_operator_and_a_line_WHEN_it_closes_an_appeal_THEN_the_oldest_waiting_one_is_handed_out_at_once(
    api: Api,
) -> None:
    anna, source = full_team(api)
    busy = api.appeal(source["id"])
    older, newer = api.appeal(source["id"]), api.appeal(source["id"])
    assert (older["status"], newer["status"]) == ("waiting", "waiting")

    api.post(f"/appeals/{busy['id']}/close")

    served, still = api.get(f"/appeals/{older['id']}").body, api.get(f"/appeals/{newer['id']}").body
    assert served["status"] == "active" and served["operator"]["id"] == anna["id"]
    assert still["status"] == "waiting"
    assert api.get(f"/operators/{anna['id']}").body["current_load"] == 1
    assigned = api.get(f"/appeals/{older['id']}/history").body["events"][-1]
    assert (assigned["type"], assigned["decision"]["trigger"]) == ("assigned", "drain")
    stats = api.caught_up().get("/stats/distribution").body["items"][0]
    assert stats["waiting_now"] == 1


def test_GIVEN_lines_on_two_sources_WHEN_a_slot_frees_THEN_the_appeal_that_waited_longest_gets_it(api: Api) -> None:
    anna = api.operator("Anna", max_load=1)
    first, second = api.source("First"), api.source("Second")
    api.weights(first["id"], {anna["id"]: 10})
    api.weights(second["id"], {anna["id"]: 10})
    busy = api.appeal(first["id"])
    oldest = api.appeal(second["id"])  # waits on the second source
    younger = api.appeal(first["id"])

    api.post(f"/appeals/{busy['id']}/close")

    assert api.get(f"/appeals/{oldest['id']}").body["status"] == "active"
    assert api.get(f"/appeals/{younger['id']}").body["status"] == "waiting"


def test_GIVEN_a_line_WHEN_an_inactive_operator_is_activated_THEN_it_takes_the_line_up_to_its_limit(api: Api) -> None:
    boris = api.operator("Boris", is_active=False, max_load=2)
    source = api.source()
    api.weights(source["id"], {boris["id"]: 10})
    line = [api.appeal(source["id"]) for _ in range(3)]

    reply = api.patch(f"/operators/{boris['id']}", {"is_active": True})

    assert reply.status == 200 and reply.body["current_load"] == 2
    statuses = [api.get(f"/appeals/{appeal['id']}").body["status"] for appeal in line]
    assert statuses == ["active", "active", "waiting"]


def test_GIVEN_a_line_WHEN_max_load_is_raised_THEN_the_new_capacity_is_used_at_once(api: Api) -> None:
    anna, source = full_team(api)
    api.appeal(source["id"])
    waiting = [api.appeal(source["id"]) for _ in range(2)]

    api.patch(f"/operators/{anna['id']}", {"max_load": 2})

    statuses = [api.get(f"/appeals/{appeal['id']}").body["status"] for appeal in waiting]
    assert statuses == ["active", "waiting"]


def test_GIVEN_a_line_WHEN_weights_add_a_free_operator_THEN_the_line_goes_to_it(api: Api) -> None:
    anna, source = full_team(api)
    api.appeal(source["id"])
    waiting = api.appeal(source["id"])
    boris = api.operator("Boris", max_load=5)

    api.weights(source["id"], {anna["id"]: 10, boris["id"]: 10})

    assert api.get(f"/appeals/{waiting['id']}").body["operator"]["id"] == boris["id"]


def test_GIVEN_capacity_that_appeared_without_a_drain_WHEN_the_scheduled_run_comes_THEN_it_serves_the_line(
    api: Api,
) -> None:
    anna, source = full_team(api)
    api.patch(f"/operators/{anna['id']}", {"max_load": 0})
    line = [api.appeal(source["id"]) for _ in range(3)]
    # As if the immediate drain had failed after the change committed.
    Operator(anna["id"]).update(actions=[Operator.max_load.set(2)])

    reply = api.post("/admin/jobs/reassign/run")

    assert reply.status == 200
    assert (reply.body["drained"], reply.body["still_waiting"]) == (2, 1)
    statuses = [api.get(f"/appeals/{appeal['id']}").body["status"] for appeal in line]
    assert statuses == ["active", "active", "waiting"]
    assert api.get(f"/operators/{anna['id']}").body["current_load"] == 2


def test_GIVEN_an_empty_line_WHEN_the_scheduled_run_comes_THEN_nothing_changes(api: Api) -> None:
    anna, source = full_team(api)
    appeal = api.appeal(source["id"])

    report = run_reassignment()

    assert report.drained == 0 and report.sources_checked == 1
    assert api.get(f"/appeals/{appeal['id']}").body["operator"]["id"] == anna["id"]


def test_GIVEN_a_drained_appeal_WHEN_a_second_drain_comes_with_a_stale_view_THEN_it_is_not_handed_out_twice(
    api: Api,
) -> None:
    anna, source = full_team(api)
    boris = api.operator("Boris", max_load=0)
    api.weights(source["id"], {anna["id"]: 10, boris["id"]: 10})
    api.appeal(source["id"])
    waiting = api.appeal(source["id"])
    stale_page = [Appeal.get(waiting["id"])]  # what a racing drain read from the index
    Operator(boris["id"]).update(actions=[Operator.max_load.set(2)])
    assert waiting_line.drain_source(Source.get(source["id"])).handed_out == 1

    again = waiting_line.drain_source(Source.get(source["id"]), first_page=(stale_page, None))

    assert again.handed_out == 0
    assert api.get(f"/operators/{boris['id']}").body["current_load"] == 1
    assert api.caught_up().get("/stats/distribution").body["items"][0]["waiting_now"] == 0


def test_GIVEN_an_unknown_job_WHEN_run_THEN_404_names_the_known_ones(api: Api) -> None:
    reply = api.post("/admin/jobs/nope/run")

    assert reply.status == 404
    assert "reassign" in reply.body["message"] and "audit" in reply.body["message"]
