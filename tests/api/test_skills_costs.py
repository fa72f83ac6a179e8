"""What skills and the priority line cost in DynamoDB requests: a priority line's
intake reads the lead once more (score, appeal count); a fifo line's does not;
a drain over a line whose head nobody free may take costs O(handed out + skipped)."""

from __future__ import annotations

import pytest

from chalicelib.models import Operator, count_requests
from chalicelib.routing.reassignment import run_reassignment
from tests.support import Api, appeal_body


@pytest.fixture
def warm_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window no test run outlasts: the steady state is counted, not the clock of a loaded machine."""
    monkeypatch.setenv("SOURCE_CACHE_SECONDS", "3600")


@pytest.mark.usefixtures("warm_window")
@pytest.mark.parametrize(
    ("mode", "max_load", "status", "expected"),
    [("fifo", 0, "waiting", 2), ("priority", 0, "waiting", 3), ("priority", 100, "active", 2)],
)
def test_GIVEN_a_warm_function_WHEN_appeals_arrive_THEN_only_joining_a_priority_line_costs_one_more_read(
    api: Api, mode: str, max_load: int, status: str, expected: int
) -> None:
    anna = api.operator("Anna", max_load=max_load, tags=["lang:uk"])
    source = api.source(line_order={"mode": mode}, required_tags=["lang:uk"])
    api.weights(source["id"], {anna["id"]: 10})
    api.post("/appeals", appeal_body(source["id"]))  # warms the copy of the source and weights

    with count_requests() as counts:
        replies = [api.post("/appeals", appeal_body(source["id"], vip=True)) for _ in range(10)]

    assert {reply.body["status"] for reply in replies} == {status}
    # The loads (BatchGetItem), [joining a priority line: the lead's score and appeal count, GetItem],
    # the transaction.
    assert sum(counts.values()) == expected * 10
    assert counts["GetItem"] == (10 if expected == 3 else 0)


def test_GIVEN_a_line_headed_by_appeals_nobody_free_may_take_WHEN_drained_THEN_skipped_rows_cost_reads_only(
    api: Api,
) -> None:
    boris = api.operator("Boris", max_load=0)
    source = api.source()
    api.weights(source["id"], {boris["id"]: 10})
    skilled = [api.appeal(source["id"], required_tags=["lang:uk"]) for _ in range(10)]
    plain = [api.appeal(source["id"]) for _ in range(5)]
    Operator(boris["id"]).update(actions=[Operator.max_load.set(5)])  # capacity without its immediate drain

    with count_requests() as counts:
        report = run_reassignment()

    assert report.drained == 5 and report.still_waiting == 10
    assert {api.get(f"/appeals/{a['id']}").body["status"] for a in plain} == {"active"}
    assert {api.get(f"/appeals/{a['id']}").body["status"] for a in skilled} == {"waiting"}
    # Sources listing + batch read, is the line empty (Limit=1), the line in pages of the free
    # capacity (5): two pages of skipped rows and one of plain ones, the candidates (Query +
    # BatchGetItem), one transaction per appeal handed out, the COUNT of what still waits.
    assert counts == {"Query": 7, "BatchGetItem": 2, "TransactWriteItems": 5}
