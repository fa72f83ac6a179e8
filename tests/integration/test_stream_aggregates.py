"""`make run`'s stream feeds hand the appeals stream to `appeal_events` (the handler Lambda
runs) on the real engine: stats catch up with intake without any write on the request path."""

from __future__ import annotations

import time

from chalicelib.access.principal import SYSTEM
from chalicelib.directory import stats
from chalicelib.routing.intake import submit_appeal
from scripts.local.local_stack import stream_feeds
from tests.integration.helpers import appeal_for, new_operator, new_source, warm_up


def source_totals(source_id: str) -> tuple[int, int, str | None]:
    (row,) = [item for item in stats.distribution_stats(50, None).items if item.source_id == source_id]
    return row.total_appeals, row.waiting_now, row.as_of


def test_GIVEN_the_local_stacks_stream_feeds_WHEN_appeals_arrive_THEN_the_source_totals_follow(
    real_tables: str,
) -> None:
    warm_up()
    anna = new_operator("Anna", max_load=1)
    source = new_source({anna.id: 10})
    feeds = stream_feeds()
    for feed in feeds:
        feed.start()
    try:
        for _ in range(3):
            submit_appeal(appeal_for(source.id), viewer=SYSTEM)
        deadline = time.monotonic() + 10
        while source_totals(source.id)[:2] != (3, 2) and time.monotonic() < deadline:
            time.sleep(0.1)  # waits for the poller thread; the bound only stops a broken run
        assert [feed.failure() for feed in feeds] == [None, None]
        assert all("OFF" not in feed.describe() for feed in feeds)  # both streams are read
    finally:
        for feed in feeds:
            feed.stop()

    total, waiting, as_of = source_totals(source.id)
    assert (total, waiting) == (3, 2)
    assert as_of is not None
