"""`make run`'s stream feeds keep the response-time analytics on the real engine: the
appeals stream's every write reaches the stats rows, without a write on the request path."""

from __future__ import annotations

import time
from datetime import timedelta

from chalicelib.access.principal import SYSTEM
from chalicelib.core.ids import utc_now
from chalicelib.insight import reports
from chalicelib.routing.intake import submit_appeal
from chalicelib.schemas.stats import OperatorStatsQuery, TimelineQuery
from scripts.local.local_stack import stream_feeds
from tests.integration.helpers import appeal_for, new_operator, new_source, warm_up


def test_GIVEN_the_local_stacks_stream_feeds_WHEN_appeals_arrive_THEN_operator_stats_and_timeline_follow(
    real_tables: str,
) -> None:
    warm_up()
    anna = new_operator("Anna", max_load=1)
    source = new_source({anna.id: 10})
    today = utc_now().date()
    days = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}

    def seen() -> tuple[int, int, int, int]:
        (row,) = reports.operator_stats(
            OperatorStatsQuery.model_validate({**days, "source_id": source.id}), viewer=SYSTEM
        ).operators
        hours = reports.source_timeline(source.id, TimelineQuery.model_validate(days)).hours
        current = max((h for h in hours if h.arrivals), key=lambda h: h.hour, default=None)
        return (
            row.assigned,
            sum(h.arrivals for h in hours),
            sum(h.assigned for h in hours),
            current.waiting if current else -1,
        )

    feeds = stream_feeds()
    for feed in feeds:
        feed.start()
    try:
        for _ in range(3):
            submit_appeal(appeal_for(source.id), viewer=SYSTEM)
        deadline = time.monotonic() + 15
        while seen() != (1, 3, 1, 2) and time.monotonic() < deadline:
            time.sleep(0.2)  # waits for the poller thread; the bound only stops a broken run
        assert [feed.failure() for feed in feeds] == [None, None]
    finally:
        for feed in feeds:
            feed.stop()

    # Anna took one (max_load 1); two wait at the end of the hour they arrived in.
    assert seen() == (1, 3, 1, 2)
