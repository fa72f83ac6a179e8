"""What one stream record adds to the analytics rows, as data (no tables)."""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from chalicelib.insight.feed import appeal_changes, lead_outcomes

_serializer = TypeSerializer()


def record(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    change: dict[str, Any] = {
        "NewImage": {k: _serializer.serialize(v) for k, v in new.items()},
        "SequenceNumber": "1",
        "ApproximateCreationDateTime": 1_700_000_000,
    }
    if old is not None:
        change["OldImage"] = {k: _serializer.serialize(v) for k, v in old.items()}
    return {"eventName": "MODIFY" if old else "INSERT", "dynamodb": change}


HELD = {
    "appeal_id": "ap_1",
    "lead_id": "ld_1",
    "source_id": "src_1",
    "status": "active",
    "operator_id": "op_dana",
    "created_at": "2026-11-02T09:00:00Z",
    "assigned_at": "2026-11-02T09:00:00Z",
    "reassign_count": 3,
    "events": [json.dumps({"type": "assigned", "at": "2026-11-02T09:00:00Z"})],
}


def test_GIVEN_an_appeal_escalated_from_its_operator_WHEN_folded_THEN_that_operator_counts_it_and_the_line_grows() -> (
    None
):
    escalated = {
        **HELD,
        "status": "waiting",
        "reassign_count": 4,
        "escalated": True,
        "lapsed_operator_ids": {"op_dana"},
        "events": [*HELD["events"], json.dumps({"type": "escalated", "at": "2026-11-02T10:15:00Z"})],
    }
    del escalated["operator_id"]

    changes = {(pk, sk): counts for pk, sk, counts, _ in appeal_changes(record(HELD, escalated))}

    day = {"reassignments": 1, "sla_lapses": 1, "escalations": 1}
    assert changes[("ops#src_1", "2026-11-02#op_dana")] == day
    assert changes[("ops#*", "2026-11-02#op_dana")] == day
    assert changes[("hours#src_1", "2026-11-02T10:00:00Z")] == {"waiting": 1}
    assert changes[("hours#src_1", "D2026-11-02")] == {"waiting": 1}
    assert changes[("hours#src_1", "~waiting")] == {"waiting": 1}
    assert changes[("lead#ld_1", "src_1#op_dana")] == {"appeals": -1}
    assert len(changes) == 6


def test_GIVEN_rows_that_are_not_appeals_WHEN_folded_THEN_they_add_nothing() -> None:
    member = {"appeal_id": "member#ld_1#src_1#op_dana", "appeals": 1}
    message = {"appeal_id": "msg#ap_1#2", "source_id": "src_1", "status": "sent", "lead_id": "ld_1"}

    assert appeal_changes(record(None, member)) == []
    assert appeal_changes(record(None, message)) == []
    assert appeal_changes({"eventName": "REMOVE", "dynamodb": {"OldImage": {}}}) == []


def test_GIVEN_lead_and_deal_records_WHEN_read_THEN_only_a_transfer_and_a_payment_are_outcomes() -> None:
    lead = {"lead_id": "ld_1", "stage": "qualified", "updated_at": "2026-11-02T10:00:00Z"}
    moved = {**lead, "stage": "transferred", "stage_changed_at": "2026-11-02T11:00:00Z"}
    deal = {"lead_id": "deal#dl_1", "deal_lead_id": "ld_1", "deal_stage": "agreement", "updated_at": "x"}
    paid = {**deal, "deal_stage": "paid", "updated_at": "2026-11-03T08:00:00Z"}

    assert [(lead_id, kind, when.isoformat()) for lead_id, kind, when in lead_outcomes(record(lead, moved))] == [
        ("ld_1", "transferred", "2026-11-02T11:00:00+00:00")
    ]
    assert [(lead_id, kind) for lead_id, kind, _ in lead_outcomes(record(deal, paid))] == [("ld_1", "paid")]
    assert lead_outcomes(record(moved, {**moved, "updated_at": "2026-11-02T12:00:00Z"})) == []  # still transferred
    assert lead_outcomes(record(paid, paid)) == []
