"""Stream records -> domain events, as data: what a webhook receiver or the bot reads."""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from chalicelib.events import appeal_events


def record(new: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    serialize = TypeSerializer().serialize
    change: dict[str, Any] = {
        "Keys": {"appeal_id": {"S": new["appeal_id"]}},
        "NewImage": {k: serialize(v) for k, v in new.items()},
        "SequenceNumber": "1",
    }
    if old is not None:
        change["OldImage"] = {k: serialize(v) for k, v in old.items()}
    return {"eventName": "MODIFY" if old else "INSERT", "dynamodb": change}


def test_GIVEN_an_assignment_WHEN_announced_THEN_the_deadline_is_a_timestamp_and_escalated_a_boolean() -> None:
    assigned = {"type": "assigned", "at": "2026-11-30T13:06:08Z", "operator_id": "op_1"}
    row = {
        "appeal_id": "ap_1",
        "lead_id": "ld_1",
        "source_id": "src_1",
        "status": "active",
        # Stored with the appeal id so the SLA index orders by it: never what a receiver should see.
        "sla_due_at": "2026-11-30T13:06:38.765853Z#ap_1",
        "events": [json.dumps({"type": "created", "at": "2026-11-30T13:06:08Z"}), json.dumps(assigned)],
    }

    (event,) = appeal_events(record(row, {**row, "events": row["events"][:1]}))

    assert event.id == "ap_1:appeal.assigned:1"
    assert event.data["sla_due_at"] == "2026-11-30T13:06:38.765853Z"
    assert event.data["escalated"] is False
    assert event.data["operator_id"] == "op_1"


def test_GIVEN_no_sla_WHEN_announced_THEN_no_deadline() -> None:
    row = {
        "appeal_id": "ap_2",
        "lead_id": "ld_1",
        "status": "active",
        "escalated": True,
        "events": [json.dumps({"type": "assigned", "at": "2026-11-30T13:06:08Z", "operator_id": "op_1"})],
    }

    (event,) = appeal_events(record(row))

    assert event.data["sla_due_at"] is None
    assert event.data["escalated"] is True
