"""A source's totals from the appeals stream (moto tier, records built from the
table's images): counted once per record whatever the batches look like."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.directory.aggregates import apply_appeal_records
from chalicelib.models import Source
from tests.support import Api, AppealsStream


def totals(source_id: str) -> tuple[int, int]:
    row = Source.get(source_id, consistent_read=True)
    return int(row.appeals_total), int(row.waiting_count)


def with_sequence(records: list[dict[str, Any]], sequences: list[int]) -> list[dict[str, Any]]:
    for item, sequence in zip(records, sequences, strict=True):
        item["dynamodb"]["SequenceNumber"] = str(sequence)
    return records


def six_appeals_four_waiting(api: Api) -> tuple[str, list[dict[str, Any]]]:
    anna = api.operator("Anna", max_load=2)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    for _ in range(6):
        api.appeal(source["id"])
    # Only the appeals' own records: membership items share the table's stream but carry no source.
    records = [item for item in AppealsStream().records() if "source_id" in item["dynamodb"]["NewImage"]]
    assert len(records) == 6
    return source["id"], records


def test_GIVEN_a_batch_counted_WHEN_it_is_delivered_again_THEN_nothing_changes(api: Api) -> None:
    source_id, records = six_appeals_four_waiting(api)
    assert apply_appeal_records(records, shard_id="shard-1") == 1

    assert apply_appeal_records(records, shard_id="shard-1") == 0

    assert totals(source_id) == (6, 4)
    assert api.get("/stats/distribution").body["items"][0]["as_of"] is not None


def test_GIVEN_a_counted_batch_WHEN_bisected_halves_and_an_overlapping_replay_arrive_THEN_each_record_counts_once(
    api: Api,
) -> None:
    source_id, records = six_appeals_four_waiting(api)
    apply_appeal_records(records[:4], shard_id="shard-1")

    apply_appeal_records(records[:2], shard_id="shard-1")  # a bisected half of what was counted
    apply_appeal_records(records[2:], shard_id="shard-1")  # a replay overlapping the mark

    assert totals(source_id) == (6, 4)


def test_GIVEN_two_shards_with_interleaved_sequence_numbers_WHEN_both_are_counted_THEN_neither_is_skipped(
    api: Api,
) -> None:
    source_id, records = six_appeals_four_waiting(api)
    # Sequence numbers are ordered within a shard only: shard 2's records sit below shard 1's.
    first, second = with_sequence(records[:3], [500, 600, 700]), with_sequence(records[3:], [100, 200, 300])

    apply_appeal_records(first, shard_id="shard-1")
    apply_appeal_records(second, shard_id="shard-2")
    apply_appeal_records(second, shard_id="shard-2")

    assert totals(source_id) == (6, 4)


def test_GIVEN_a_shard_silent_past_the_stream_retention_WHEN_another_batch_is_counted_THEN_its_mark_is_dropped(
    api: Api,
) -> None:
    source_id, records = six_appeals_four_waiting(api)
    old, new = records[:3], records[3:]
    for item in old:
        item["dynamodb"]["ApproximateCreationDateTime"] -= 2 * 86400
    apply_appeal_records(old, shard_id="shard-old")
    marks = Source._get_connection().get_item(source_id, consistent_read=True)["Item"]
    assert "stream_mark_shard_old" in marks

    apply_appeal_records(new, shard_id="shard-new")

    marks = Source._get_connection().get_item(source_id, consistent_read=True)["Item"]
    assert "stream_mark_shard_old" not in marks and "stream_mark_shard_new" in marks
    assert totals(source_id) == (6, 4)


def test_GIVEN_no_shard_id_WHEN_a_batch_arrives_THEN_it_is_refused_rather_than_miscounted(api: Api) -> None:
    source_id, records = six_appeals_four_waiting(api)

    with pytest.raises(ValueError, match="shard id"):
        apply_appeal_records(records, shard_id="")

    assert totals(source_id) == (0, 0)
