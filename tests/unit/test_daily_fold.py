"""The stream fold of response-time and outcome analytics, as data (hand-computed expectations)."""

from __future__ import annotations

import json
from datetime import date
from itertools import count
from typing import Any

from chalicelib.insight.daily import NOBODY, DayKey, fold
from chalicelib.insight.stats import bucket_of

_ids = count()
DAY = date(2026, 11, 30)


def ddb(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, bool):
            out[name] = {"BOOL": value}
        elif isinstance(value, int | float):
            out[name] = {"N": str(value)}
        elif isinstance(value, set):
            out[name] = {"SS": sorted(value)}
        elif isinstance(value, list):
            out[name] = {"L": [{"S": item} for item in value]}
        else:
            out[name] = {"S": value}
    return out


def record(old: dict[str, Any] | None, new: dict[str, Any], name: str = "MODIFY") -> dict[str, Any]:
    images = {"NewImage": ddb(new)} | ({"OldImage": ddb(old)} if old else {})
    return {"eventID": f"ev{next(_ids)}", "eventName": name, "dynamodb": images}


BASE = {"appeal_id": "ap_1", "source_id": "src_a", "created_at": "2026-11-30T10:00:00.000000Z"}
ASSIGNED = {**BASE, "status": "active", "operator_id": "op_anna", "assigned_at": "2026-11-30T10:00:05.000000Z"}


def test_GIVEN_assign_accept_close_WHEN_folded_THEN_counts_and_buckets_match_hand_computed() -> None:
    accepted = {**ASSIGNED, "accepted_at": "2026-11-30T10:01:05.000000Z"}  # 60 s after assignment
    closed = {**accepted, "status": "closed", "closed_at": "2026-11-30T10:20:05.000000Z"}  # 1200 s

    totals = fold(
        [record(None, ASSIGNED, "INSERT"), record(ASSIGNED, accepted), record(accepted, closed), record(closed, closed)]
    )

    row = totals[DayKey("src_a", "op_anna", DAY)]
    assert (row.assigned, row.closed) == (1, 1)
    assert row.accept_buckets == {bucket_of(60): 1} and row.close_buckets == {bucket_of(1200): 1}
    assert len(totals) == 1


def test_GIVEN_an_sla_lapse_and_reassignment_WHEN_folded_THEN_the_lapse_is_the_first_operators() -> None:
    moved = {
        **ASSIGNED,
        "operator_id": "op_boris",
        "assigned_at": "2026-11-30T23:59:59.000000Z",
        "reassign_count": 1,
        "lapsed_operator_ids": {"op_anna"},
        "events": [json.dumps({"type": "reassigned", "at": "2026-11-30T23:59:59.000000Z"})],
    }
    escalated = {**moved, "status": "waiting", "escalated": True, "operator_id": None}
    escalated.pop("operator_id")
    escalated["events"] = [*moved["events"], json.dumps({"type": "escalated", "at": "2026-12-01T00:00:01.000000Z"})]

    totals = fold([record(ASSIGNED, moved), record(moved, escalated)])

    anna, boris = totals[DayKey("src_a", "op_anna", DAY)], totals[DayKey("src_a", "op_boris", DAY)]
    assert (anna.reassigned, anna.sla_lapses, anna.assigned) == (1, 1, 0)
    assert boris.assigned == 1
    assert totals[DayKey("src_a", "op_boris", date(2026, 12, 1))].escalated == 1


def test_GIVEN_non_appeal_rows_and_removals_WHEN_folded_THEN_nothing() -> None:
    marker = {"appeal_id": "open#ld_1#src_a", "open_appeal_id": "ap_1"}

    assert fold([record(None, marker, "INSERT"), record(ASSIGNED, ASSIGNED, "REMOVE")]) == {}
    assert NOBODY == "-"
