"""The stream's records as data: what each batch changes in its sources' aggregates."""

from __future__ import annotations

from typing import Any

from chalicelib.directory.aggregates import source_deltas


def record(sequence: int, old: dict[str, str] | None, new: dict[str, str] | None, at: float = 0.0) -> dict[str, Any]:
    def image(fields: dict[str, str] | None) -> dict[str, Any] | None:
        return {name: {"S": value} for name, value in fields.items()} if fields is not None else None

    key = (new or old or {}).get("appeal_id", f"ap_{sequence}")
    change: dict[str, Any] = {
        "SequenceNumber": str(sequence),
        "ApproximateCreationDateTime": at,
        "Keys": {"appeal_id": {"S": key}},
    }
    change.update({"OldImage": image(old)} if old is not None else {})
    change.update({"NewImage": image(new)} if new is not None else {})
    return {"eventID": f"ev{sequence}", "dynamodb": change}


def test_GIVEN_appeals_created_queued_and_handed_out_WHEN_a_batch_is_read_THEN_each_source_gets_net_totals() -> None:
    records = [
        record(10, None, {"source_id": "a", "status": "waiting"}),
        record(11, None, {"source_id": "b", "status": "active"}),
        record(12, {"source_id": "a", "status": "waiting"}, {"source_id": "a", "status": "active"}, at=60.0),
        record(13, None, {"source_id": "a", "status": "waiting"}),
    ]

    deltas = source_deltas(records)

    assert {key: (d.received, d.waiting, d.first, d.last) for key, d in deltas.items()} == {
        "a": (2, 1, "10", "13"),
        "b": (1, 0, "11", "11"),
    }
    assert deltas["a"].as_of == "1970-01-01T00:01:00Z"


def test_GIVEN_markers_and_keys_only_records_WHEN_read_THEN_they_change_no_source() -> None:
    records = [
        record(1, None, {"appeal_id": "open#lead#src", "open_appeal_id": "ap_1"}),
        {"eventID": "ev2", "dynamodb": {"SequenceNumber": "2", "Keys": {"appeal_id": {"S": "ap_1"}}}},
    ]

    assert source_deltas(records) == {}


def test_GIVEN_a_conversations_messages_WHEN_read_THEN_a_reply_carrying_its_source_counts_as_no_appeal() -> None:
    records = [
        record(1, None, {"source_id": "a", "status": "waiting"}),
        record(2, None, {"appeal_id": "msg#ap_1#000002", "source_id": "a", "status": "sent"}),
        record(3, None, {"appeal_id": "member#ld_1#ap_1", "source_id": "a"}),
    ]

    assert {key: (d.received, d.waiting) for key, d in source_deltas(records).items()} == {"a": (1, 1)}


def test_GIVEN_a_shard_mark_inside_a_batch_WHEN_narrowed_THEN_only_records_past_it_remain() -> None:
    records = [record(n, None, {"source_id": "a", "status": "waiting"}) for n in (5, 9, 120)]
    delta = source_deltas(records)["a"]

    later = delta.after(f"{'9'.zfill(40)}|1970-01-01T00:00:00Z")

    assert [change.sequence for change in later.changes] == ["120"]
    assert (later.received, later.waiting) == (1, 1)
    assert delta.after(f"{'120'.zfill(40)}|x").changes == []
