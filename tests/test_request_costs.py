"""What a bill is made of: DynamoDB requests per operation, counted with a
botocore event hook. These pin the cost so a regression fails a test."""

from __future__ import annotations

from chalicelib.models import count_requests
from tests.support import Api, appeal_body


def five_operator_source(api: Api) -> str:
    source = api.source()
    api.weights(source["id"], {api.operator(f"Operator {i}")["id"]: 10 * (i + 1) for i in range(5)})
    return source["id"]


def test_GIVEN_five_operators_WHEN_an_appeal_is_assigned_THEN_it_costs_four_requests(api: Api) -> None:
    source_id = five_operator_source(api)

    with count_requests() as counts:
        reply = api.post("/appeals", appeal_body(source_id))

    assert reply.body["status"] == "active"
    assert counts == {"GetItem": 1, "Query": 1, "BatchGetItem": 1, "TransactWriteItems": 1}


def test_GIVEN_more_appeals_in_the_table_WHEN_one_more_arrives_THEN_the_cost_is_the_same(api: Api) -> None:
    source_id = five_operator_source(api)
    with count_requests() as first:
        api.post("/appeals", appeal_body(source_id))
    for _ in range(30):
        api.post("/appeals", appeal_body(source_id))

    with count_requests() as later:
        api.post("/appeals", appeal_body(source_id))

    assert sum(later.values()) == sum(first.values())


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

    # Read + close transaction, then the freed slot looks for a line to serve:
    # the sources the operator serves (index Query) and their waiting counters.
    assert counts == {"GetItem": 1, "TransactWriteItems": 1, "Query": 1, "BatchGetItem": 1}
