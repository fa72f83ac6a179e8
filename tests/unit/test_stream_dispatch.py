"""One handler per stream: a batch goes to every consumer, and fails if any consumer failed (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.events import APPEAL_CONSUMERS, LEAD_CONSUMERS, StreamBatch, dispatch

RECORD: dict[str, Any] = {"eventID": "e1", "dynamodb": {"SequenceNumber": "1"}}


def test_GIVEN_a_lambda_event_with_a_tumbling_window_WHEN_read_THEN_records_and_shard_are_kept() -> None:
    batch = StreamBatch.from_event({"Records": [RECORD], "shardId": "shardId-1", "state": {}, "window": {}})

    assert batch == StreamBatch([RECORD], "shardId-1")


def test_GIVEN_the_appeals_stream_WHEN_listing_its_consumers_THEN_aggregates_analytics_and_notifications() -> None:
    assert [name for name, _ in APPEAL_CONSUMERS] == ["aggregates", "analytics", "notifications"]


def test_GIVEN_the_leads_stream_WHEN_listing_its_consumers_THEN_analytics_and_notifications() -> None:
    assert [name for name, _ in LEAD_CONSUMERS] == ["analytics", "notifications"]


def test_GIVEN_a_failing_first_consumer_WHEN_dispatching_THEN_the_second_still_runs_and_the_batch_fails() -> None:
    seen: list[str] = []

    def broken(batch: StreamBatch) -> None:
        seen.append("broken")
        raise ConnectionError("down")

    def fine(batch: StreamBatch) -> None:
        seen.append(f"fine:{batch.shard_id}")

    with pytest.raises(ConnectionError, match="down"):
        dispatch(StreamBatch([RECORD], "s1"), (("broken", broken), ("fine", fine)))

    assert seen == ["broken", "fine:s1"]


def test_GIVEN_a_window_closing_call_without_records_WHEN_dispatching_THEN_no_consumer_runs() -> None:
    seen: list[StreamBatch] = []

    dispatch(StreamBatch([], "s1"), (("any", seen.append),))

    assert seen == []
