"""Presence, schedules and the shift job through the API (moto): who is drawn, what the
decision record says, what a shift start or end does to the lines and to appeals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chalicelib.core.ids import iso, utc_now
from chalicelib.directory.shifts import run_shift_transitions
from chalicelib.models.operators import SHIFT_DUE, Operator
from chalicelib.schemas.schedules import DAY_NAMES, WeeklySchedule
from tests.support import operator_token

if TYPE_CHECKING:
    from scripts.local.dev_auth import DevKeys
    from tests.support import Api

KYIV = ZoneInfo("Europe/Kyiv")
ALWAYS_UTC = {"time_zone": "UTC", "week": {day: [{"start": "00:00", "end": "24:00"}] for day in DAY_NAMES}}
LONG_AGO = "2000-01-01T00:00:00.000000Z"


def off_now_in_kyiv() -> dict[str, Any]:
    """No weekly hours; extra hours 09:00-18:00 the day after tomorrow (Kyiv): off shift now, whenever now is."""
    day = (utc_now().astimezone(KYIV) + timedelta(days=2)).date()
    return {
        "time_zone": "Europe/Kyiv",
        "exceptions": [{"kind": "extra", "day": day.isoformat(), "intervals": [{"start": "09:00", "end": "18:00"}]}],
    }


def team(api: Api, *names: str, max_load: int = 5) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    people = [api.operator(name, max_load=max_load) for name in names]
    source = api.source()
    api.weights(source["id"], {person["id"]: 10 for person in people})
    return people, source


def as_before_the_job(operator_id: str, schedule: dict[str, Any], presence: str) -> None:
    """The row as it was just before its transition came: the schedule stored, the presence of
    the state it is leaving, `next_transition_at` in the past (the job has not run yet)."""
    stored = WeeklySchedule.model_validate(schedule)
    Operator(operator_id).update(
        actions=[
            Operator.schedule.set(stored.model_dump_json()),
            Operator.time_zone.set(stored.time_zone),
            Operator.shift_due.set(SHIFT_DUE),
            Operator.next_transition_at.set(LONG_AGO),
            Operator.presence.set(presence),
        ]
    )


def candidates_of(api: Api, appeal_id: str) -> list[dict[str, Any]]:
    events = api.get(f"/appeals/{appeal_id}/history").body["events"]
    decision = next(event["decision"] for event in events if event.get("decision"))
    return list(decision["candidates"])


# --- schedules: validation ---------------------------------------------------------------------


def test_GIVEN_bad_schedules_WHEN_put_THEN_422_names_the_field_and_nothing_is_stored(api: Api) -> None:
    (anna,), _ = team(api, "Anna")
    path = f"/operators/{anna['id']}/schedule"
    bad = {
        "body.time_zone": {"time_zone": "Mars/Olympus"},
        "body.week.mon.0.end": {"time_zone": "UTC", "week": {"mon": [{"start": "18:00", "end": "09:00"}]}},
        "body.exceptions.1.first_day": {
            "time_zone": "UTC",
            "exceptions": [
                {"kind": "off", "first_day": "2026-12-24", "last_day": "2026-12-26"},
                {"kind": "off", "first_day": "2026-12-26", "last_day": "2026-12-28"},
            ],
        },
    }

    replies = {field: api.put(path, body) for field, body in bad.items()}

    for field, reply in replies.items():
        assert reply.status == 422, (field, reply.body)
        assert field in [error["path"] for error in reply.body["errors"]], (field, reply.body)
    assert api.get(path).status == 404
    assert api.get(f"/operators/{anna['id']}").body["time_zone"] is None


def test_GIVEN_no_schedule_WHEN_read_THEN_404_saying_always_on_shift_and_the_operator_is_available(api: Api) -> None:
    (anna,), _ = team(api, "Anna")

    reply = api.get(f"/operators/{anna['id']}/schedule")

    assert reply.status == 404 and "always on shift" in reply.body["message"]
    assert api.get(f"/operators/{anna['id']}").body["presence"] == "available"


# --- schedules: writes settle presence at once ----------------------------------------------------------


def test_GIVEN_an_operator_WHEN_a_schedule_off_shift_now_is_put_THEN_it_is_off_shift_and_its_unaccepted_work_goes_back(
    api: Api, dev_keys: DevKeys
) -> None:
    (anna, boris), source = team(api, "Anna", "Boris")
    assert api.patch(f"/operators/{boris['id']}", {"presence": "paused"}).status == 200
    accepted, unaccepted = api.appeal(source["id"]), api.appeal(source["id"])
    assert api.patch(f"/operators/{boris['id']}", {"presence": "available"}).status == 200
    as_anna = api.as_(operator_token(dev_keys, anna["id"]))
    assert as_anna.post(f"/appeals/{accepted['id']}/accept").status == 200

    put = as_anna.put("/me/schedule", off_now_in_kyiv())
    after = api.get(f"/operators/{anna['id']}").body

    assert put.status == 200 and put.body["time_zone"] == "Europe/Kyiv"
    assert (after["presence"], after["time_zone"], after["current_load"]) == ("off_shift", "Europe/Kyiv", 1)
    assert after["presence_reason"].startswith("off shift until") and "Europe/Kyiv" in after["presence_reason"]
    start = datetime.fromisoformat(put.body["exceptions"][0]["day"]).replace(hour=9, tzinfo=KYIV)
    assert datetime.fromisoformat(after["presence_until"]) == start.astimezone(UTC)
    # Unaccepted: back through distribution, to Boris (the only one left); the accepted one stays.
    assert api.get(f"/appeals/{unaccepted['id']}").body["operator"]["id"] == boris["id"]
    assert api.get(f"/appeals/{accepted['id']}").body["operator"]["id"] == anna["id"]
    assert api.get(f"/operators/{anna['id']}/schedule").body == put.body


def test_GIVEN_an_off_shift_operator_WHEN_its_schedule_is_deleted_THEN_it_is_available_and_the_line_comes_to_it(
    api: Api,
) -> None:
    (anna,), source = team(api, "Anna")
    assert api.put(f"/operators/{anna['id']}/schedule", off_now_in_kyiv()).status == 200
    waiting = api.appeal(source["id"])
    assert waiting["status"] == "waiting"

    deleted = api.call("DELETE", f"/operators/{anna['id']}/schedule")

    assert deleted.status == 204
    after = api.get(f"/operators/{anna['id']}").body
    assert (after["presence"], after["presence_until"], after["time_zone"]) == ("available", None, None)
    assert api.get(f"/appeals/{waiting['id']}").body["operator"]["id"] == anna["id"]
    assert api.get(f"/operators/{anna['id']}/schedule").status == 404


def test_GIVEN_an_operator_WHEN_it_touches_another_operators_schedule_THEN_403_and_nothing_changes(
    api: Api, dev_keys: DevKeys
) -> None:
    (anna, boris), _ = team(api, "Anna", "Boris")
    as_anna = api.as_(operator_token(dev_keys, anna["id"]))
    path = f"/operators/{boris['id']}/schedule"

    statuses = [as_anna.get(path).status, as_anna.put(path, ALWAYS_UTC).status, as_anna.call("DELETE", path).status]

    assert statuses == [403, 403, 403]
    assert api.get(path).status == 404


def test_GIVEN_a_paused_operator_WHEN_a_schedule_is_put_THEN_the_pause_holds(api: Api, dev_keys: DevKeys) -> None:
    (anna,), _ = team(api, "Anna")
    as_anna = api.as_(operator_token(dev_keys, anna["id"]))
    assert as_anna.patch("/me", {"presence": "paused", "reason": "lunch"}).status == 200

    assert as_anna.put("/me/schedule", off_now_in_kyiv()).status == 200

    after = api.get(f"/operators/{anna['id']}").body
    assert (after["presence"], after["presence_reason"]) == ("paused", "lunch")
    # Resuming off shift lands on what the schedule says.
    resumed = as_anna.patch("/me", {"presence": "available"}).body
    assert resumed["presence"] == "off_shift"


# --- the draw -------------------------------------------------------------------------------------------


def test_GIVEN_one_paused_one_off_shift_by_its_hours_WHEN_appeals_arrive_THEN_neither_is_drawn_and_the_record_says_why(
    api: Api,
) -> None:
    (anna, boris, vera), source = team(api, "Anna", "Boris", "Vera")
    assert api.patch(f"/operators/{boris['id']}", {"presence": "paused", "reason": "lunch"}).status == 200
    # Anna's shift has ended by her hours, but the job has not marked her yet: the draw reads the hours.
    as_before_the_job(anna["id"], off_now_in_kyiv(), "available")

    appeals = [api.appeal(source["id"]) for _ in range(5)]

    assert {appeal["operator"]["id"] for appeal in appeals} == {vera["id"]}
    record = {c["operator_id"]: c for c in candidates_of(api, appeals[0]["id"])}
    assert record[boris["id"]]["not_drawn_because"] == "Boris: paused (lunch)"
    assert record[boris["id"]]["presence"] == "paused"
    assert record[anna["id"]]["not_drawn_because"].startswith("Anna: off shift until ")
    assert record[anna["id"]]["not_drawn_because"].endswith(" Europe/Kyiv")
    assert (record[anna["id"]]["eligible"], record[vera["id"]]["eligible"]) == (False, True)
    assert record[vera["id"]]["not_drawn_because"] is None


def test_GIVEN_a_record_naming_others_WHEN_an_operator_reads_its_history_THEN_it_sees_only_its_own_entry(
    api: Api, dev_keys: DevKeys
) -> None:
    (anna, boris), source = team(api, "Anna", "Boris")
    assert api.patch(f"/operators/{boris['id']}", {"presence": "paused", "reason": "doctor"}).status == 200
    appeal = api.appeal(source["id"])

    events = api.as_(operator_token(dev_keys, anna["id"])).get(f"/appeals/{appeal['id']}/history").body["events"]

    seen = [c for event in events if event.get("decision") for c in event["decision"]["candidates"]]
    assert [c["operator_id"] for c in seen] == [anna["id"]]
    assert "doctor" not in str(events)


def test_GIVEN_an_admin_WHEN_it_pauses_and_resumes_an_operator_THEN_work_goes_back_and_comes_again(api: Api) -> None:
    (anna,), source = team(api, "Anna")
    held = api.appeal(source["id"])

    paused = api.patch(f"/operators/{anna['id']}", {"presence": "paused", "reason": "training"})
    waiting = api.get(f"/appeals/{held['id']}").body
    resumed = api.patch(f"/operators/{anna['id']}", {"presence": "available"})

    assert (paused.status, paused.body["presence"], paused.body["presence_reason"]) == (200, "paused", "training")
    assert (paused.body["is_active"], paused.body["current_load"]) == (True, 0)
    assert waiting["status"] == "waiting"
    assert (resumed.status, resumed.body["presence"], resumed.body["current_load"]) == (200, "available", 1)
    assert api.get(f"/appeals/{held['id']}").body["operator"]["id"] == anna["id"]


# --- the shift job -------------------------------------------------------------------------------------


def test_GIVEN_a_shift_that_ended_WHEN_the_job_runs_twice_THEN_unaccepted_work_returns_accepted_stays_once(
    api: Api, dev_keys: DevKeys
) -> None:
    (anna,), source = team(api, "Anna")
    accepted, unaccepted = api.appeal(source["id"]), api.appeal(source["id"])
    as_anna = api.as_(operator_token(dev_keys, anna["id"]))
    assert as_anna.post(f"/appeals/{accepted['id']}/accept").status == 200
    schedule = off_now_in_kyiv()
    as_before_the_job(anna["id"], schedule, "available")

    first = run_shift_transitions()
    second = run_shift_transitions()

    assert (first.due, first.went_off, first.returned) == (1, 1, 1)
    assert (second.due, second.went_off, second.returned) == (0, 0, 0)
    after = api.get(f"/operators/{anna['id']}").body
    assert (after["presence"], after["current_load"]) == ("off_shift", 1)
    assert api.get(f"/appeals/{unaccepted['id']}").body["status"] == "waiting"
    assert api.get(f"/appeals/{accepted['id']}").body["operator"]["id"] == anna["id"]
    # The next change is the next shift's start, which the row says too.
    due = datetime.fromisoformat(str(Operator.get(anna["id"]).next_transition_at))
    assert due == datetime.fromisoformat(after["presence_until"])


def test_GIVEN_a_shift_that_started_WHEN_the_job_runs_THEN_available_and_the_line_drains_to_it(api: Api) -> None:
    (anna,), source = team(api, "Anna")
    as_before_the_job(anna["id"], ALWAYS_UTC, "off_shift")
    waiting = api.appeal(source["id"])
    assert waiting["status"] == "waiting"  # off_shift: the claim refuses, whatever the hours say

    report = run_shift_transitions()

    assert (report.due, report.went_on, report.drained) == (1, 1, 1)
    assert api.get(f"/operators/{anna['id']}").body["presence"] == "available"
    assert api.get(f"/appeals/{waiting['id']}").body["operator"]["id"] == anna["id"]


def test_GIVEN_a_paused_operator_WHEN_its_transition_comes_THEN_it_stays_paused_and_only_the_next_time_moves(
    api: Api,
) -> None:
    (anna,), _ = team(api, "Anna")
    as_before_the_job(anna["id"], ALWAYS_UTC, "paused")

    report = run_shift_transitions()

    assert (report.due, report.rescheduled, report.went_on) == (1, 1, 0)
    assert api.get(f"/operators/{anna['id']}").body["presence"] == "paused"
    assert Operator.get(anna["id"]).next_transition_at > iso(utc_now())


def test_GIVEN_many_operators_and_one_due_WHEN_the_job_runs_THEN_it_reads_only_the_due_one(api: Api) -> None:
    people, _ = team(api, *(f"Op {n}" for n in range(6)))
    for person in people:
        assert api.put(f"/operators/{person['id']}/schedule", ALWAYS_UTC).status == 200
    as_before_the_job(people[0]["id"], ALWAYS_UTC, "off_shift")

    report = run_shift_transitions()

    assert (report.due, report.went_on) == (1, 1)


# --- the week -------------------------------------------------------------------------------------------


def test_GIVEN_schedules_WHEN_reading_a_week_THEN_utc_spans_and_time_off_and_an_operator_sees_only_itself(
    api: Api, dev_keys: DevKeys
) -> None:
    (anna, boris), _ = team(api, "Anna", "Boris")
    schedule = {
        "time_zone": "Europe/Kyiv",
        "week": {
            "mon": [{"start": "09:00", "end": "18:00"}],
            "fri": [{"start": "22:00", "end": "06:00", "overnight": True}],
        },
        "exceptions": [{"kind": "off", "first_day": "2026-12-09", "last_day": "2026-12-10", "reason": "sick"}],
    }
    assert api.put(f"/operators/{anna['id']}/schedule", schedule).status == 200

    week = api.get("/schedules/week?start=2026-12-07").body
    own = api.as_(operator_token(dev_keys, anna["id"])).get("/schedules/week?start=2026-12-07").body

    assert (week["start"], week["end"]) == ("2026-12-07", "2026-12-13")
    rows = {row["operator_id"]: row for row in week["operators"]}
    assert set(rows) == {anna["id"], boris["id"]}
    spans = [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in rows[anna["id"]]["shifts"]]
    assert spans == [
        (datetime(2026, 12, 7, 7, tzinfo=UTC), datetime(2026, 12, 7, 16, tzinfo=UTC)),
        (datetime(2026, 12, 11, 20, tzinfo=UTC), datetime(2026, 12, 12, 4, tzinfo=UTC)),
    ]
    assert rows[anna["id"]]["time_off"] == [{"first_day": "2026-12-09", "last_day": "2026-12-10", "reason": "sick"}]
    assert (rows[boris["id"]]["shifts"], rows[boris["id"]]["time_zone"]) == ([], None)
    assert [row["operator_id"] for row in own["operators"]] == [anna["id"]]


def test_GIVEN_a_source_returning_accepted_work_WHEN_a_shift_ends_THEN_its_accepted_appeals_go_back_and_others_stay(
    api: Api, dev_keys: DevKeys
) -> None:
    anna = api.operator("Anna", max_load=5)
    returning = api.source("Night line", return_accepted_at_shift_end=True)
    keeping = api.source("Day line")
    assert returning["return_accepted_at_shift_end"] is True and keeping["return_accepted_at_shift_end"] is False
    for source in (returning, keeping):
        api.weights(source["id"], {anna["id"]: 10})
    returned, kept = api.appeal(returning["id"]), api.appeal(keeping["id"])
    as_anna = api.as_(operator_token(dev_keys, anna["id"]))
    for appeal in (returned, kept):
        assert as_anna.post(f"/appeals/{appeal['id']}/accept").status == 200
    as_before_the_job(anna["id"], off_now_in_kyiv(), "available")

    report = run_shift_transitions()

    assert (report.went_off, report.returned) == (1, 1)
    back = api.get(f"/appeals/{returned['id']}").body
    assert (back["status"], back["accepted_at"]) == ("waiting", None)
    assert api.get(f"/appeals/{kept['id']}").body["operator"]["id"] == anna["id"]
    assert api.get(f"/operators/{anna['id']}").body["current_load"] == 1
    history = api.get(f"/appeals/{returned['id']}/history").body["events"]
    assert history[-1]["reason"] == "shift_ended"


def test_GIVEN_a_paused_operator_WHEN_an_admin_assigns_it_a_waiting_appeal_by_hand_THEN_409_and_it_keeps_waiting(
    api: Api,
) -> None:
    (anna,), source = team(api, "Anna")
    assert api.patch(f"/operators/{anna['id']}", {"presence": "paused"}).status == 200
    waiting = api.appeal(source["id"])

    reply = api.post(f"/appeals/{waiting['id']}/assign", {"operator_id": anna["id"]})

    assert reply.status == 409 and "paused or off shift" in reply.body["message"]
    assert api.get(f"/appeals/{waiting['id']}").body["status"] == "waiting"
    assert api.get(f"/operators/{anna['id']}").body["current_load"] == 0
