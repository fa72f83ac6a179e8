"""Follow-up after accept, through the API and the scheduled job (moto): a source's
followup_seconds and followup_action, the reminder after one quiet period, the
action after a second, activity (a note, a reply) restarting the clock, and
POST/GET /appeals/{id}/notes."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from chalicelib.core.ids import utc_now
from chalicelib.events.consumer import consume_lead_records
from chalicelib.events.records import appeal_events
from chalicelib.models import Lead, count_requests
from chalicelib.models.appeals import get_appeal_row
from chalicelib.routing.followup_job import run_followup
from tests.log_capture import captured_logs
from tests.support import Api, AppealsStream, operator_token

if TYPE_CHECKING:
    from chalicelib.schemas.jobs import FollowupReport
    from scripts.local.dev_auth import DevKeys

PERIOD = 600  # ten quiet minutes


def job_after(seconds: float) -> FollowupReport:
    """The scheduled run, as it would see the clock `seconds` from now."""
    return run_followup(now=utc_now() + timedelta(seconds=seconds))


class Desk:
    """A follow-up source, Anna and Boris serving it, Anna holding an accepted appeal."""

    def __init__(self, api: Api, dev_keys: DevKeys, action: str = "escalate") -> None:
        self.api = api
        self.source = api.source(followup_seconds=PERIOD, followup_action=action)
        self.anna, self.boris = api.operator("Anna", max_load=3), api.operator("Boris", max_load=3, is_active=False)
        api.weights(self.source["id"], {self.anna["id"]: 10, self.boris["id"]: 10})
        self.as_anna = api.as_(operator_token(dev_keys, self.anna["id"]))
        self.as_boris = api.as_(operator_token(dev_keys, self.boris["id"]))
        self.appeal = api.appeal(self.source["id"], lead_name="Ivan Petrov")
        assert self.appeal["operator"]["id"] == self.anna["id"]
        assert self.as_anna.post(f"/appeals/{self.appeal['id']}/accept").status == 200

    def history(self) -> list[str]:
        return [event["type"] for event in self.api.get(f"/appeals/{self.appeal['id']}/history").body["events"]]

    def get(self) -> dict[str, Any]:
        return self.api.get(f"/appeals/{self.appeal['id']}").body


@pytest.fixture
def desk(api: Api, dev_keys: DevKeys) -> Desk:
    return Desk(api, dev_keys)


# --- source settings ---------------------------------------------------------------------------------


def test_GIVEN_a_source_WHEN_followup_is_set_changed_and_turned_off_THEN_each_reads_back(api: Api) -> None:
    created = api.source()
    assert (created["followup_seconds"], created["followup_action"]) == (None, "escalate")

    on = api.patch(f"/sources/{created['id']}", {"followup_seconds": 3600, "followup_action": "return_to_line"})
    off = api.patch(f"/sources/{created['id']}", {"followup_seconds": None})

    assert (on.status, on.body["followup_seconds"], on.body["followup_action"]) == (200, 3600, "return_to_line")
    assert (off.status, off.body["followup_seconds"], off.body["followup_action"]) == (200, None, "return_to_line")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"followup_seconds": 30}, "followup_seconds"),
        ({"followup_seconds": 31 * 24 * 3600}, "followup_seconds"),
        ({"followup_seconds": "soon"}, "followup_seconds"),
        ({"followup_action": "nag"}, "followup_action"),
    ],
)
def test_GIVEN_bad_followup_settings_WHEN_creating_or_patching_THEN_422_names_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    source = api.source()

    created = api.post("/sources", {"name": "Bot", **body})
    patched = api.patch(f"/sources/{source['id']}", body)
    nulled = api.patch(f"/sources/{source['id']}", {"followup_action": None})

    for reply in (created, patched):
        assert reply.status == 422
        assert ["body", field] in [error["loc"] for error in reply.body["errors"]]
    assert nulled.status == 422 and nulled.body["errors"][0]["loc"] == ["body", "followup_action"]


# --- the job ---------------------------------------------------------------------------------------


def test_GIVEN_an_accepted_appeal_WHEN_quiet_for_one_period_THEN_its_operator_is_reminded_once(desk: Desk) -> None:
    before = job_after(PERIOD - 30)
    first = job_after(PERIOD + 30)
    again = job_after(PERIOD + 90)

    assert (before.due, before.reminded) == (0, 0)
    assert (first.due, first.reminded) == (1, 1)
    # The next look is a full period after the reminder went out.
    assert (again.due, again.reminded) == (0, 0)
    assert desk.history() == ["created", "assigned", "accepted", "followup_reminder"]
    assert desk.get()["status"] == "active" and desk.get()["operator"]["id"] == desk.anna["id"]


def test_GIVEN_a_reminder_WHEN_the_stream_carries_it_THEN_it_is_an_appeal_followup_reminder_event(desk: Desk) -> None:
    stream = AppealsStream()
    stream.records()  # what happened before the reminder
    job_after(PERIOD + 30)

    events = [event for record in stream.records() for event in appeal_events(record)]

    assert [event.type for event in events] == ["appeal.followup_reminder"]
    (reminder,) = events
    assert reminder.data["operator_id"] == desk.anna["id"]
    assert (reminder.data["followup_seconds"], reminder.data["followup_action"]) == (PERIOD, "escalate")
    assert reminder.data["followup_due_at"] is not None and "#" not in reminder.data["followup_due_at"]


def test_GIVEN_a_reminded_appeal_WHEN_quiet_for_a_second_period_THEN_it_is_escalated_and_its_operator_freed(
    desk: Desk,
) -> None:
    job_after(PERIOD + 30)

    report = job_after(2 * PERIOD + 60)

    assert (report.due, report.escalated) == (1, 1)
    appeal = desk.get()
    assert (appeal["status"], appeal["escalated"], appeal["operator"]) == ("waiting", True, None)
    assert desk.history()[-1] == "escalated"
    assert desk.api.get(f"/operators/{desk.anna['id']}").body["current_load"] == 0
    # Out of the index: nothing more to do, ever.
    assert job_after(10 * PERIOD).due == 0


def test_GIVEN_return_to_line_WHEN_quiet_twice_THEN_another_operator_gets_it(api: Api, dev_keys: DevKeys) -> None:
    desk = Desk(api, dev_keys, action="return_to_line")
    assert api.patch(f"/operators/{desk.boris['id']}", {"is_active": True}).status == 200
    job_after(PERIOD + 30)

    report = job_after(2 * PERIOD + 60)

    assert (report.due, report.reassigned) == (1, 1)
    appeal = desk.get()
    assert (appeal["status"], appeal["operator"]["id"], appeal["accepted_at"]) == ("active", desk.boris["id"], None)
    assert desk.history()[-1] == "reassigned"
    assert api.get(f"/operators/{desk.anna['id']}").body["current_load"] == 0


def test_GIVEN_return_to_line_and_nobody_else_WHEN_quiet_twice_THEN_it_waits_in_the_line(
    api: Api, dev_keys: DevKeys
) -> None:
    desk = Desk(api, dev_keys, action="return_to_line")
    job_after(PERIOD + 30)

    report = job_after(2 * PERIOD + 60)

    assert report.returned_to_line == 1
    assert desk.get()["status"] == "waiting" and desk.get()["escalated"] is False


def stage_move_on_the_stream(lead_id: str) -> None:
    """The leads stream's record of the lead's move to `contacted`, handed to the consumer as Lambda would."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    new = client.get_item(TableName=Lead.Meta.table_name, Key={"lead_id": {"S": lead_id}}, ConsistentRead=True)["Item"]
    old = {**new, "stage": {"S": "new"}}
    change = {"Keys": {"lead_id": {"S": lead_id}}, "NewImage": new, "OldImage": old, "SequenceNumber": "1"}
    consume_lead_records([{"eventID": "1", "eventName": "MODIFY", "dynamodb": change}])


@pytest.mark.parametrize("activity", ["note", "reply", "stage move"])
def test_GIVEN_a_reminded_appeal_WHEN_activity_comes_THEN_the_clock_restarts_instead_of_the_action(
    desk: Desk, activity: str
) -> None:
    assert job_after(PERIOD + 30).reminded == 1
    path = f"/appeals/{desk.appeal['id']}"
    if activity == "note":
        assert desk.as_anna.post(f"{path}/notes", {"text": "Called, no answer"}).status == 201
    elif activity == "reply":
        sent = desk.as_anna.post(f"{path}/messages", {"text": "Still there?", "client_message_id": "r1"})
        assert sent.status == 201
    else:
        lead = desk.appeal["lead_id"]
        assert desk.as_anna.post(f"/leads/{lead}/stage", {"stage": "contacted"}).status == 200
        stage_move_on_the_stream(lead)

    row = get_appeal_row(desk.appeal["id"])
    assert row.followup_reminded_at is None and row.last_activity_at > row.accepted_at
    # Without the activity this run would act; with it, the quiet period starts again: a new reminder.
    report = job_after(2 * PERIOD + 60)
    assert (report.due, report.reminded, report.escalated) == (1, 1, 0)
    assert desk.get()["status"] == "active"


def test_GIVEN_a_reminded_appeal_WHEN_a_note_follows_THEN_no_action_and_a_new_reminder_a_period_later(
    desk: Desk,
) -> None:
    job_after(PERIOD + 30)
    assert desk.as_anna.post(f"/appeals/{desk.appeal['id']}/notes", {"text": "On it"}).status == 201

    assert job_after(PERIOD - 5).due == 0
    report = job_after(PERIOD + 30)

    assert (report.reminded, report.escalated) == (1, 0)
    assert desk.history().count("followup_reminder") == 2


def test_GIVEN_a_closed_appeal_WHEN_the_job_runs_THEN_nothing_is_due(desk: Desk) -> None:
    assert desk.as_anna.post(f"/appeals/{desk.appeal['id']}/close").status == 200

    assert job_after(10 * PERIOD).due == 0


def test_GIVEN_a_source_without_followup_WHEN_accepted_and_quiet_THEN_the_job_never_sees_it(
    api: Api, dev_keys: DevKeys
) -> None:
    source, anna = api.source(), api.operator("Anna")
    api.weights(source["id"], {anna["id"]: 10})
    appeal = api.appeal(source["id"])
    api.post(f"/appeals/{appeal['id']}/accept", {"operator_id": anna["id"]})

    assert job_after(40 * 24 * 3600).due == 0


def test_GIVEN_many_accepted_appeals_WHEN_a_few_are_due_THEN_the_job_reads_only_those(api: Api) -> None:
    source, anna = api.source(followup_seconds=PERIOD), api.operator("Anna", max_load=20)
    api.weights(source["id"], {anna["id"]: 10})
    for _ in range(12):
        appeal = api.appeal(source["id"])
        api.post(f"/appeals/{appeal['id']}/accept", {"operator_id": anna["id"]})

    with count_requests() as quiet:
        assert job_after(PERIOD - 60).due == 0

    # One Query on the sparse index, whatever the number of accepted appeals.
    assert sum(quiet.values()) == 1


# --- notes on an appeal ----------------------------------------------------------------------------


def test_GIVEN_an_appeal_WHEN_its_operator_and_an_admin_write_notes_THEN_both_list_newest_first_on_appeal_and_lead(
    desk: Desk,
) -> None:
    path = f"/appeals/{desk.appeal['id']}/notes"

    first = desk.as_anna.post(path, {"text": "Wants a call at 5"})
    second = desk.api.post(path, {"text": "VIP, be nice"})
    lead_note = desk.api.post(f"/leads/{desk.appeal['lead_id']}/notes", {"text": "Not about this appeal"})

    assert first.status == second.status == lead_note.status == 201
    assert (first.body["appeal_id"], first.body["author"], first.body["author_role"]) == (
        desk.appeal["id"],
        desk.anna["id"],
        "operator",
    )
    listed = desk.as_anna.get(path)
    assert listed.status == 200
    assert [note["text"] for note in listed.body["items"]] == ["VIP, be nice", "Wants a call at 5"]
    on_lead = desk.api.get(f"/leads/{desk.appeal['lead_id']}/notes").body["items"]
    assert [note["appeal_id"] for note in on_lead] == [None, desk.appeal["id"], desk.appeal["id"]]


def test_GIVEN_many_notes_WHEN_paged_THEN_pages_follow_newest_first(desk: Desk) -> None:
    path = f"/appeals/{desk.appeal['id']}/notes"
    for number in range(5):
        desk.api.post(f"/leads/{desk.appeal['lead_id']}/notes", {"text": f"lead {number}"})
        desk.as_anna.post(path, {"text": f"note {number}"})

    first = desk.as_anna.get(f"{path}?limit=2")
    second = desk.as_anna.get(f"{path}?limit=2&cursor={first.body['next']}")
    third = desk.as_anna.get(f"{path}?limit=2&cursor={second.body['next']}")
    bad = desk.as_anna.get(f"{path}?cursor=abc")

    pages = [[note["text"] for note in page.body["items"]] for page in (first, second, third)]
    assert pages == [["note 4", "note 3"], ["note 2", "note 1"], ["note 0"]]
    assert third.body["next"] is None
    assert bad.status == 400


def test_GIVEN_another_operators_or_a_missing_appeal_WHEN_notes_are_written_or_read_THEN_404(desk: Desk) -> None:
    path = f"/appeals/{desk.appeal['id']}/notes"
    assert desk.api.patch(f"/operators/{desk.boris['id']}", {"is_active": True}).status == 200

    replies = [
        desk.as_boris.post(path, {"text": "mine now"}),
        desk.as_boris.get(path),
        desk.api.post("/appeals/ap_0000000000000/notes", {"text": "x"}),
        desk.api.get("/appeals/ap_0000000000000/notes"),
    ]

    assert [reply.status for reply in replies] == [404, 404, 404, 404]
    assert desk.api.get(path).body["items"] == []


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 4001}, {"text": 5}])
def test_GIVEN_a_bad_note_WHEN_posted_THEN_422_names_text(desk: Desk, body: dict[str, Any]) -> None:
    reply = desk.as_anna.post(f"/appeals/{desk.appeal['id']}/notes", body)

    assert reply.status == 422 and reply.body["errors"][0]["loc"] == ["body", "text"]


def test_GIVEN_a_note_WHEN_written_THEN_its_text_is_never_logged(desk: Desk) -> None:
    with captured_logs() as logs:
        reply = desk.as_anna.post(f"/appeals/{desk.appeal['id']}/notes", {"text": "Secret: +380 67 123 4567"})
        desk.as_anna.get(f"/appeals/{desk.appeal['id']}/notes")

    assert reply.status == 201
    assert "appeal note added" in logs.text()
    assert "380 67" not in logs.text() and "Secret" not in logs.text()
