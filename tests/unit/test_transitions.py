"""Each appeal transition as data: the items and conditions it adds to a
transaction, checked without a database (nothing is committed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.db.transactions import Transaction
from chalicelib.models.appeals import ACTIVE, CLOSED, WAITING, Appeal, Reason, Trigger
from chalicelib.models.sources import Source, Strategy
from chalicelib.routing import transitions
from chalicelib.routing.draw import Candidate, Decision

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
AT = "2026-11-20T12:00:00.000000Z"
ANNA = Candidate("op_anna000000", "Anna", 10, True, 1, 5)
SOURCE = Source("src_0000000001", response_sla_seconds=None, strategy="weighted")
SLA_SOURCE = Source("src_0000000001", response_sla_seconds=60, strategy="weighted")


def draft() -> Appeal:
    return Appeal(
        "ap_0000000001",
        lead_id="ld_0000000001",
        lead_external_id="tg:1",
        source_id="src_0000000001",
        message="hi",
        created_at=AT,
    )


def waiting() -> Appeal:
    row = draft()
    row.status, row.waiting_source_id, row.waiting_key = WAITING, row.source_id, f"queued#{AT}#ap_0000000001"
    return row


def active(operator_id: str = "op_boris00000", *, lapsed: tuple[str, ...] = ()) -> Appeal:
    row = draft()
    row.status, row.operator_id, row.operator_name = ACTIVE, operator_id, "Boris"
    row.sla_due_at = f"{AT}#ap_0000000001"
    row.lapsed_operator_ids = set(lapsed) or None
    return row


def decision(winner: Candidate | None, trigger: Trigger = Trigger.DRAIN) -> Decision:
    return Decision(trigger, Strategy.WEIGHTED, (ANNA,), winner, point=0.5 if winner else None, total=10)


def written(tx: Transaction) -> dict[str, dict[str, object]]:
    """Each item by its first label: kind, actions and condition as text."""
    return {str(item["labels"][0]): item for item in tx.described()}  # type: ignore[index]


def appeal_events(tx: Transaction) -> list[dict[str, object]]:
    action = next(a for a in written(tx)["appeal"]["actions"] if str(a).startswith("SET events"))  # type: ignore[attr-defined]
    return [json.loads(raw) for raw in json.loads(json.dumps(_strings(str(action))))]


def _strings(text: str) -> list[str]:
    # The events are the `{'S': '...'}` values of the list_append.
    import ast

    start = text.index("{'L': [{'S'")
    value = ast.literal_eval(text[text.index("{'L'", start) : text.rindex("})") + 1])
    return [item["S"] for item in value["L"]]


def test_GIVEN_a_new_appeal_and_nobody_free_WHEN_queued_THEN_it_joins_the_line_and_no_source_item_is_written() -> None:
    tx = Transaction()

    after = transitions.queue(tx, draft(), now=NOW, decision=decision(None, Trigger.INTAKE))

    items = written(tx)
    # The line's size comes from the appeals stream: intake writes no per-source item (issue 15).
    assert set(items) == {"appeal"}
    assert items["appeal"]["condition"] == "attribute_not_exists (appeal_id)"
    assert after.status == WAITING and after.waiting_key == f"queued#{AT}#ap_0000000001"
    assert after.operator_id is None
    assert [event["type"] for event in appeal_events(tx)] == ["created", "queued"]
    assert appeal_events(tx)[1]["reason"] == "nobody_free"


def test_GIVEN_a_waiting_appeal_WHEN_handed_to_an_operator_THEN_it_leaves_the_line_and_the_claim_is_conditional() -> (
    None
):
    tx = Transaction()

    after = transitions.hand_to_operator(tx, waiting(), SOURCE, ANNA, now=NOW, decision=decision(ANNA))

    items = written(tx)
    assert set(items) == {"appeal", "operator", "weight", "lead", "member"}
    assert items["appeal"]["condition"] == (
        f"(status = {{'S': 'waiting'}} AND waiting_key = {{'S': 'queued#{AT}#ap_0000000001'}})"
    )
    # Employed, available (no presence stored counts as available) and below its limit.
    assert items["operator"]["condition"] == (
        "((is_active = {'BOOL': True} AND (attribute_not_exists (presence) OR presence = {'S': 'available'}))"
        " AND active_load < max_load)"
    )
    assert items["operator"]["actions"] == ["ADD active_load {'N': '1'}"]
    assert items["weight"]["condition"] == "weight >= {'N': '1'}"
    assert items["lead"]["condition"] == "attribute_exists (lead_id)"
    assert after.status == ACTIVE and after.operator_id == ANNA.operator_id and after.waiting_key is None
    assert [event["type"] for event in appeal_events(tx)] == ["assigned"]


def test_GIVEN_a_new_appeal_WHEN_handed_to_an_operator_with_an_sla_THEN_created_active_with_a_deadline() -> None:
    tx = Transaction()

    after = transitions.hand_to_operator(
        tx, draft(), SLA_SOURCE, ANNA, now=NOW, decision=decision(ANNA, Trigger.INTAKE)
    )

    items = written(tx)
    assert set(items) == {"appeal", "operator", "weight", "lead", "member"}  # no line to leave
    assert items["appeal"]["condition"] == "attribute_not_exists (appeal_id)"
    assert items["lead"]["condition"] is None  # intake's own upsert condition joins it there
    assert after.sla_due_at == "2026-11-20T12:01:00.000000Z#ap_0000000001"
    assert [event["type"] for event in appeal_events(tx)] == ["created", "assigned"]


def test_GIVEN_an_appeal_chosen_by_a_person_WHEN_handed_over_THEN_serving_the_source_is_not_required() -> None:
    tx = Transaction()

    transitions.hand_to_operator(tx, waiting(), SOURCE, ANNA, now=NOW, reason=Reason.ASSIGNED_BY_HAND, serving=False)

    assert written(tx)["weight"]["condition"] is None
    assert appeal_events(tx)[0]["reason"] == "assigned_by_hand"


def test_GIVEN_a_lapsed_appeal_WHEN_reassigned_THEN_one_operator_is_released_one_claimed_and_the_lapse_counted() -> (
    None
):
    tx = Transaction()

    transitions.hand_to_operator(tx, active(), SOURCE, ANNA, now=NOW, decision=decision(ANNA), reason=Reason.SLA_LAPSED)

    items = written(tx)
    assert {"released_operator", "released_weight", "operator", "weight"} <= set(items)
    assert items["released_operator"]["actions"] == ["ADD active_load {'N': '-1'}"]
    assert items["released_operator"]["condition"] == "active_load > {'N': '0'}"
    condition = str(items["appeal"]["condition"])
    assert "operator_id = {'S': 'op_boris00000'}" in condition
    assert "attribute_not_exists (accepted_at)" in condition
    assert f"sla_due_at = {{'S': '{AT}#ap_0000000001'}}" in condition
    actions = items["appeal"]["actions"]
    assert "ADD reassign_count {'N': '1'}" in actions  # type: ignore[operator]
    assert "ADD lapsed_operator_ids {'SS': ['op_boris00000']}" in actions  # type: ignore[operator]
    # The lead's view moves with the appeal: Boris loses it (through this source), Anna gains it.
    assert items["released_member"]["actions"] == ["ADD appeals {'N': '-1'}"]
    assert items["member"]["actions"] == ["ADD appeals {'N': '1'}"]
    event = appeal_events(tx)[0]
    assert (event["type"], event["previous_operator_id"], event["reason"]) == (
        "reassigned",
        "op_boris00000",
        "sla_lapsed",
    )


def test_GIVEN_an_active_appeal_and_nobody_else_free_WHEN_returned_to_the_line_THEN_released_and_queued_again() -> None:
    tx = Transaction()

    after = transitions.return_to_line(
        tx, active(), now=NOW, decision=decision(None), reason=Reason.OPERATOR_DEACTIVATED
    )

    items = written(tx)
    assert set(items) == {"appeal", "released_operator", "released_weight", "released_member"}
    assert "ADD lapsed_operator_ids" not in " ".join(items["appeal"]["actions"])  # type: ignore[arg-type]
    assert after.status == WAITING and after.operator_id is None and after.sla_due_at is None


def test_GIVEN_an_active_appeal_lapsing_once_too_often_WHEN_escalated_THEN_it_waits_for_a_person() -> None:
    tx = Transaction()

    after = transitions.escalate(tx, active(lapsed=("a", "b", "c")), now=NOW, reason=Reason.SLA_LAPSED)

    items = written(tx)
    assert set(items) == {"appeal", "released_operator", "released_weight", "released_member"}
    assert after.escalated is True and str(after.waiting_key).startswith("escalated#")


def test_GIVEN_a_waiting_appeal_with_nobody_left_WHEN_escalated_THEN_only_its_segment_changes() -> None:
    tx = Transaction()

    after = transitions.escalate(tx, waiting(), now=NOW, reason=Reason.NO_OPERATOR_LEFT)

    assert set(written(tx)) == {"appeal"}
    assert str(after.waiting_key).startswith("escalated#") and after.escalated is True


@pytest.mark.parametrize(("row", "moved"), [(active(), {"released_operator", "released_weight"}), (waiting(), set())])
def test_GIVEN_an_open_appeal_WHEN_closed_THEN_its_slot_is_given_back_and_no_source_item_is_written(
    row: Appeal, moved: set[str]
) -> None:
    tx = Transaction()

    after = transitions.close(tx, row, now=NOW)

    assert set(written(tx)) == {"appeal"} | moved
    assert after.status == CLOSED and after.closed_at == AT and after.waiting_key is None


def test_GIVEN_an_active_appeal_WHEN_accepted_THEN_one_conditional_item_stops_the_sla_clock() -> None:
    tx = Transaction()

    after = transitions.accept(tx, active(), "op_boris00000", now=NOW, source=SOURCE)

    items = written(tx)
    assert set(items) == {"appeal"}
    assert "attribute_not_exists (accepted_at)" in str(items["appeal"]["condition"])
    assert "REMOVE sla_due_at" in items["appeal"]["actions"]  # type: ignore[operator]
    assert after.accepted_at == AT and after.sla_due_at is None
    # No follow-up on this source: the appeal never enters the follow-up index.
    assert after.followup_queue is None and after.followup_due_at is None


def test_GIVEN_a_closed_appeal_WHEN_handed_out_THEN_the_transition_refuses() -> None:
    row = draft()
    row.status = CLOSED

    with pytest.raises(Exception, match="closed"):
        transitions.hand_to_operator(Transaction(), row, SOURCE, ANNA, now=NOW)


# --- follow-up after accept ------------------------------------------------------------------------

FOLLOWUP_SOURCE = Source("src_0000000001", strategy="weighted", followup_seconds=3600, followup_action="return_to_line")
IN_AN_HOUR = "2026-11-20T13:00:00.000000Z#ap_0000000001"


def accepted() -> Appeal:
    return transitions.accept(Transaction(), active(), "op_boris00000", now=NOW, source=FOLLOWUP_SOURCE)


def test_GIVEN_a_source_with_followup_WHEN_accepted_THEN_the_appeal_enters_the_sparse_index_due_one_period_later() -> (
    None
):
    tx = Transaction()

    after = transitions.accept(tx, active(), "op_boris00000", now=NOW, source=FOLLOWUP_SOURCE)

    actions = written(tx)["appeal"]["actions"]
    assert f"SET followup_due_at = {{'S': '{IN_AN_HOUR}'}}" in actions  # type: ignore[operator]
    assert (after.followup_queue, after.followup_due_at) == ("due", IN_AN_HOUR)
    # The source's settings travel with the appeal: the job needs no source read to decide.
    assert (after.followup_seconds, after.followup_action, after.last_activity_at) == (3600, "return_to_line", AT)


def test_GIVEN_an_accepted_appeal_WHEN_a_note_or_reply_is_recorded_THEN_the_clock_restarts_under_a_condition() -> None:
    row = accepted()
    row.followup_reminded_at = AT
    later = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
    tx = Transaction()

    after = transitions.record_activity(tx, row, now=later)

    item = written(tx)["appeal"]
    assert "attribute_exists (followup_queue)" in str(item["condition"])
    assert "REMOVE followup_reminded_at" in item["actions"]  # type: ignore[operator]
    assert after.followup_due_at == "2026-11-20T13:30:00.000000Z#ap_0000000001"
    assert after.last_activity_at == "2026-11-20T12:30:00.000000Z" and after.followup_reminded_at is None


def test_GIVEN_an_appeal_without_followup_WHEN_activity_is_recorded_THEN_nothing_is_written() -> None:
    tx = Transaction()

    after = transitions.record_activity(tx, active(), now=NOW)

    assert len(tx) == 0 and after.followup_due_at is None


@pytest.mark.parametrize("leave", ["close", "escalate", "return_to_line"])
def test_GIVEN_an_accepted_appeal_WHEN_it_leaves_its_operator_THEN_it_leaves_the_followup_index(leave: str) -> None:
    row = accepted()
    tx = Transaction()

    if leave == "close":
        after = transitions.close(tx, row, now=NOW)
    elif leave == "escalate":
        after = transitions.escalate(tx, row, now=NOW, reason=Reason.NO_FOLLOWUP)
    else:
        after = transitions.return_to_line(tx, row, now=NOW, decision=decision(None), reason=Reason.NO_FOLLOWUP)

    actions = str(written(tx)["appeal"]["actions"])
    assert "REMOVE followup_queue" in actions and "REMOVE followup_due_at" in actions
    assert after.followup_queue is None and after.followup_due_at is None


def test_GIVEN_the_job_taking_an_accepted_appeal_WHEN_built_THEN_it_is_conditional_on_the_due_instant_it_read() -> None:
    tx = Transaction()

    transitions.escalate(tx, accepted(), now=NOW, reason=Reason.NO_FOLLOWUP)

    condition = str(written(tx)["appeal"]["condition"])
    assert f"followup_due_at = {{'S': '{IN_AN_HOUR}'}}" in condition
    # Unlike an SLA reclaim, an accepted appeal may be taken: accepted_at is not required absent.
    assert "attribute_not_exists (accepted_at)" not in condition


def test_GIVEN_a_quiet_appeal_WHEN_reminded_THEN_history_gains_a_reminder_and_the_next_look_is_a_period_on() -> None:
    tx = Transaction()
    later = datetime(2026, 11, 20, 13, 5, tzinfo=UTC)

    after = transitions.remind_followup(tx, accepted(), now=later)

    assert f"followup_due_at = {{'S': '{IN_AN_HOUR}'}}" in str(written(tx)["appeal"]["condition"])
    assert [event["type"] for event in appeal_events(tx)] == ["followup_reminder"]
    assert after.followup_due_at == "2026-11-20T14:05:00.000000Z#ap_0000000001"
    assert after.followup_reminded_at == "2026-11-20T13:05:00.000000Z"
