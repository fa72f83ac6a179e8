"""What a bill is made of: DynamoDB requests per operation, counted with a
botocore event hook. These pin the cost so a regression fails a test."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.models import Appeal, Operator, count_requests
from chalicelib.routing import views
from chalicelib.routing.reassignment import run_reassignment
from tests.support import Api, appeal_body, on_dynamodb_event, operator_token

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scripts.local.dev_auth import DevKeys


def five_operator_source(api: Api) -> str:
    source = api.source()
    api.weights(source["id"], {api.operator(f"Operator {i}")["id"]: 10 * (i + 1) for i in range(5)})
    return source["id"]


def test_GIVEN_five_operators_and_a_cold_function_WHEN_an_appeal_is_assigned_THEN_it_costs_four_requests(
    api: Api,
) -> None:
    source_id = five_operator_source(api)

    with count_requests() as counts:
        reply = api.post("/appeals", appeal_body(source_id))

    # The source's settings and weight set are read once (then kept warm), the loads, the transaction.
    assert reply.body["status"] == "active"
    assert counts == {"GetItem": 1, "Query": 1, "BatchGetItem": 1, "TransactWriteItems": 1}


@pytest.fixture
def warm_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window no test run outlasts: the steady state is counted, not the clock of a loaded machine."""
    monkeypatch.setenv("SOURCE_CACHE_SECONDS", "3600")


@pytest.mark.usefixtures("warm_window")
def test_GIVEN_a_warm_function_WHEN_appeals_keep_arriving_THEN_each_costs_two_requests(api: Api) -> None:
    source_id = five_operator_source(api)
    api.post("/appeals", appeal_body(source_id))  # the first one warms the copy of the source and weights

    with count_requests() as counts:
        replies = [api.post("/appeals", appeal_body(source_id)) for _ in range(20)]

    # The floor: the operators' loads read fresh, then one transaction (issue 15: at most 2.2).
    assert {reply.body["status"] for reply in replies} == {"active"}
    assert counts == {"BatchGetItem": 20, "TransactWriteItems": 20}
    assert sum(counts.values()) / len(replies) <= 2.2


@pytest.mark.usefixtures("warm_window")
def test_GIVEN_more_appeals_in_the_table_WHEN_one_more_arrives_THEN_the_cost_is_the_same(api: Api) -> None:
    source_id = five_operator_source(api)
    api.post("/appeals", appeal_body(source_id))
    with count_requests() as first:
        api.post("/appeals", appeal_body(source_id))
    for _ in range(30):
        api.post("/appeals", appeal_body(source_id))

    with count_requests() as later:
        api.post("/appeals", appeal_body(source_id))

    assert later == first


def test_GIVEN_appeals_WHEN_reading_stats_THEN_cost_does_not_grow_with_appeals(api: Api) -> None:
    source_id = five_operator_source(api)
    api.post("/appeals", appeal_body(source_id))
    with count_requests() as few:
        api.get("/stats/distribution")
    for _ in range(30):
        api.post("/appeals", appeal_body(source_id))

    with count_requests() as many:
        api.get("/stats/distribution")

    assert many == few
    assert "Scan" not in many


def test_GIVEN_nothing_waiting_WHEN_an_active_appeal_is_closed_THEN_it_costs_four_requests(api: Api) -> None:
    source_id = five_operator_source(api)
    appeal = api.post("/appeals", appeal_body(source_id)).body

    with count_requests() as counts:
        api.post(f"/appeals/{appeal['id']}/close")

    # Read + close transaction, then the freed slot looks for a line to serve: the
    # sources the operator serves (index Query), then one Limit=1 Query per source on
    # the sparse waiting index (no per-source counter); nothing waits, so no row is read.
    assert counts == {"GetItem": 1, "TransactWriteItems": 1, "Query": 2}


def line_of_ten(api: Api, closed_history: int) -> tuple[str, str]:
    """A source with `closed_history` closed appeals and 10 waiting ones, and
    capacity that appeared without its immediate drain."""
    anna = api.operator("Anna", max_load=closed_history + 10)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    for _ in range(closed_history):
        api.post(f"/appeals/{api.appeal(source['id'])['id']}/close")
    Operator(anna["id"]).update(actions=[Operator.max_load.set(0)])
    for _ in range(10):
        api.appeal(source["id"])
    Operator(anna["id"]).update(actions=[Operator.max_load.set(10)])
    return anna["id"], source["id"]


def test_GIVEN_ten_waiting_WHEN_the_scheduled_run_drains_them_THEN_the_cost_does_not_grow_with_history(
    api: Api,
) -> None:
    costs = []
    for sources, history in enumerate((0, 40), start=1):
        line_of_ten(api, history)
        with count_requests() as counts:
            report = run_reassignment()
        assert report.drained == 10
        # Each source costs one Limit=1 Query on the waiting index; take out the earlier rounds' (empty) ones.
        counts["Query"] -= sources - 1
        costs.append(counts)
        api.post("/admin/jobs/reassign/run")  # leave nothing for the next round

    # Sources listing + batch read, is the line empty (Limit=1 Query), the line (one
    # Query), the candidates (Query + BatchGetItem), one transaction per appeal handed
    # out, then how many still wait (a COUNT Query on the sparse index: O(waiting)).
    assert costs[0] == costs[1] == {"Query": 5, "BatchGetItem": 2, "TransactWriteItems": 10}


def test_GIVEN_nothing_to_do_WHEN_the_scheduled_run_comes_THEN_it_reads_the_source_list_and_one_key_per_line(
    api: Api,
) -> None:
    five_operator_source(api)

    with count_requests() as counts:
        run_reassignment()

    # The listing Query + batch read, then one Limit=1 Query on the (empty) waiting index.
    assert counts == {"Query": 2, "BatchGetItem": 1}


def test_GIVEN_an_appeal_with_every_field_set_WHEN_read_from_its_listing_indexes_THEN_the_answer_is_the_same(
    api: Api,
) -> None:
    anna = api.operator("Anna")
    source = api.source(sticky=True, response_sla_seconds=60)
    api.weights(source["id"], {anna["id"]: 10})
    appeal = api.appeal(source["id"], lead_external_id="tg:full")
    api.post("/appeals", appeal_body(source["id"], lead_external_id="tg:full"))  # attaches
    api.post(f"/appeals/{appeal['id']}/accept", {"operator_id": anna["id"]})
    stored = views.appeal_out(Appeal.get(appeal["id"]))

    from_lead_index = [views.appeal_out(row) for row in Appeal.by_lead.query(stored.lead_id)]
    from_operator_index = [views.appeal_out(row) for row in Appeal.by_operator.query(anna["id"])]

    assert from_lead_index == from_operator_index == [stored]
    assert stored.message_count == 2 and stored.accepted_at is not None


def test_GIVEN_the_appeal_indexes_WHEN_counting_projected_attributes_THEN_dynamodb_limits_hold() -> None:
    projected = [
        index.Meta.projection.non_key_attributes
        for index in (Appeal.by_lead, Appeal.by_operator, Appeal.waiting_by_source, Appeal.awaiting_accept)
    ]

    assert all(len(names) <= 20 for names in projected)  # per index
    assert sum(len(names) for names in projected) <= 100  # per table
    assert not any("events" in names for names in projected)


def test_GIVEN_a_lead_WHEN_analyzed_with_the_rules_THEN_it_costs_three_requests(api: Api) -> None:
    lead_id = api.appeal(api.source()["id"])["lead_id"]

    with count_requests() as counts:
        assert api.post(f"/leads/{lead_id}/analyze").status == 200

    # The lead (consistent), its source's points, the conditional score write.
    assert dict(counts) == {"GetItem": 1, "BatchGetItem": 1, "UpdateItem": 1}


@contextmanager
def consumed_capacity() -> Iterator[list[float]]:
    """Asks every DynamoDB call for its consumed capacity and collects the units."""
    units: list[float] = []

    def ask(params: dict[str, Any], **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"

    def read(parsed: dict[str, Any], **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity") or []
        for entry in [consumed] if isinstance(consumed, dict) else consumed:
            units.append(float(entry.get("CapacityUnits", 0)))

    with (
        on_dynamodb_event("provide-client-params.dynamodb.GetItem", ask),
        on_dynamodb_event("provide-client-params.dynamodb.BatchGetItem", ask),
        on_dynamodb_event("provide-client-params.dynamodb.Query", ask),
        on_dynamodb_event("after-call.dynamodb", read),
    ):
        yield units


def test_GIVEN_a_lead_with_1500_appeals_WHEN_another_operator_reads_it_THEN_404_for_two_small_reads(
    api: Api, dev_keys: DevKeys
) -> None:
    boris, anna = api.operator("Boris", max_load=5), api.operator("Anna", max_load=5)
    source = api.source()
    api.weights(source["id"], {boris["id"]: 1})
    first = api.appeal(source["id"], lead_external_id="tg:chatty")
    text = "a long message the ownership check must never read " * 50
    with Appeal.batch_write() as batch:
        for n in range(1499):
            batch.save(
                Appeal(
                    f"ap_seeded{n:020d}",
                    lead_id=first["lead_id"],
                    lead_external_id="tg:chatty",
                    source_id=source["id"],
                    message=text,
                    status="closed",
                    created_at=f"2026-01-01T00:00:{n % 60:02d}.{n:06d}Z",
                    operator_id=boris["id"],
                )
            )
    as_anna = api.as_(operator_token(dev_keys, anna["id"]))

    with count_requests() as counts, consumed_capacity() as units:
        reply = as_anna.get(f"/leads/{first['lead_id']}")

    assert reply.status == 404
    # The authorizer's binding lookup (Query, once per token per cache TTL in AWS; the test
    # client runs it on every request), then two attributes of the lead and the membership
    # items of its sources: O(1), not O(appeals).
    assert counts == {"Query": 1, "GetItem": 1, "BatchGetItem": 1}
    assert units and sum(units) <= 3.0  # moto reports units per table read
