"""POST /sources/{id}/simulate: the what-if replay over traffic made through the real API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.models import count_requests

if TYPE_CHECKING:
    from tests.support import Api

# Fidelity: with 150 appeals the recorded and the predicted shares each carry a
# binomial standard error of about 0.035 (share 0.75); their difference one of
# about 0.05. 0.2 is four of those: a real drift fails, noise does not (kept small: the box is slow).
SHARE_TOLERANCE = 0.2
APPEALS = 150


def team(api: Api, weights: tuple[int, ...] = (30, 10), max_load: int = 1000) -> tuple[str, list[dict[str, Any]]]:
    people = [api.operator(f"Operator {i}", max_load=max_load) for i in range(len(weights))]
    source = api.source()
    api.weights(source["id"], {p["id"]: w for p, w in zip(people, weights, strict=True)})
    return source["id"], people


def test_GIVEN_recorded_traffic_WHEN_replaying_the_current_weights_THEN_shares_and_waits_match_what_happened(
    api: Api,
) -> None:
    source_id, (anna, boris) = team(api)
    for _ in range(APPEALS):
        api.appeal(source_id)

    reply = api.post(
        f"/sources/{source_id}/simulate", {"weights": {anna["id"]: 30, boris["id"]: 10}, "n": APPEALS, "seed": 7}
    )

    assert reply.status == 200, reply.body
    body = reply.body
    assert body["appeals"] == APPEALS
    assert body["predicted"]["assigned"] == body["recorded"]["assigned"] == APPEALS
    rows = {row["operator_id"]: row for row in body["operators"]}
    for person in (anna, boris):
        row = rows[person["id"]]
        assert abs(row["predicted_share"] - row["recorded_share"]) <= SHARE_TOLERANCE, row
    assert abs(rows[anna["id"]]["recorded_share"] - 0.75) <= SHARE_TOLERANCE
    # Capacity to spare: nobody waited, in the record or the replay.
    assert body["predicted"]["mean_wait_seconds"] == 0.0
    assert body["recorded"]["mean_wait_seconds"] is not None and body["recorded"]["mean_wait_seconds"] < 1.0


def test_GIVEN_a_proposed_set_WHEN_simulating_twice_with_one_seed_THEN_same_answer_and_nothing_written(
    api: Api,
) -> None:
    source_id, (anna, boris) = team(api)
    for _ in range(40):
        api.appeal(source_id)
    body = {"weights": {anna["id"]: 10, boris["id"]: 90}, "n": 40, "seed": 3}

    with count_requests() as counts:
        first = api.post(f"/sources/{source_id}/simulate", body)
    second = api.post(f"/sources/{source_id}/simulate", body)

    assert first.status == second.status == 200
    assert first.body == second.body
    assert not {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"} & set(counts)
    assert "Scan" not in counts
    rows = {row["operator_id"]: row for row in first.body["operators"]}
    assert rows[boris["id"]]["predicted_share"] > rows[anna["id"]]["predicted_share"]
    assert api.get(f"/sources/{source_id}/weights").body["items"][0]["weight"] == 30


def test_GIVEN_an_operator_taken_off_WHEN_simulating_without_them_THEN_their_recorded_share_is_shown_at_weight_0(
    api: Api,
) -> None:
    source_id, (anna, boris) = team(api)
    for _ in range(20):
        api.appeal(source_id)

    reply = api.post(f"/sources/{source_id}/simulate", {"weights": {anna["id"]: 10}})

    rows = {row["operator_id"]: row for row in reply.body["operators"]}
    assert rows[anna["id"]]["predicted_share"] == 1.0
    assert rows[boris["id"]]["proposed_weight"] == 0 and rows[boris["id"]]["predicted_share"] == 0.0
    assert rows[boris["id"]]["recorded_assigned"] + rows[anna["id"]]["recorded_assigned"] == 20


def test_GIVEN_tight_capacity_WHEN_simulating_THEN_the_replay_makes_appeals_wait(api: Api) -> None:
    source_id, (anna,) = team(api, (10,), max_load=1000)
    for _ in range(10):
        api.appeal(source_id)

    reply = api.post(f"/sources/{source_id}/simulate", {"weights": {anna["id"]: 10}, "capacities": {anna["id"]: 0}})

    assert reply.body["predicted"]["never_assigned"] == 10
    assert reply.body["recorded"]["never_assigned"] == 0


def error_paths(reply_body: dict[str, Any]) -> list[str]:
    return [error["path"] for error in reply_body["errors"]]


def test_GIVEN_bad_proposals_WHEN_simulating_THEN_422_names_the_field(api: Api) -> None:
    source_id, (anna, _) = team(api)

    unknown = api.post(f"/sources/{source_id}/simulate", {"weights": {anna["id"]: 1, "op_nobodyatall01": 5}})
    too_many = api.post(f"/sources/{source_id}/simulate", {"weights": {anna["id"]: 1}, "n": 10_001})
    negative = api.post(f"/sources/{source_id}/simulate", {"weights": {anna["id"]: -1}})
    bad_capacity = api.post(
        f"/sources/{source_id}/simulate", {"weights": {anna["id"]: 1}, "capacities": {"op_nobodyatall02": 1}}
    )

    assert (unknown.status, error_paths(unknown.body)) == (422, ["body.weights.op_nobodyatall01"])
    assert (too_many.status, error_paths(too_many.body)) == (422, ["body.n"])
    assert negative.status == 422 and error_paths(negative.body) == [f"body.weights.{anna['id']}"]
    assert (bad_capacity.status, error_paths(bad_capacity.body)) == (422, ["body.capacities.op_nobodyatall02"])


def test_GIVEN_an_unknown_source_WHEN_simulating_THEN_404(api: Api) -> None:
    _, (anna, _) = team(api)

    reply = api.post("/sources/src_doesnotexist01/simulate", {"weights": {anna["id"]: 1}})

    assert reply.status == 404
