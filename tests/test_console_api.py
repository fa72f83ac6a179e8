"""What the console needs from the API: accept by token, pause/resume oneself,
conditional GETs, the scoring status, and the console's own files."""

from __future__ import annotations

from typing import Any

from scripts.dev_auth import DevKeys
from tests.support import Api


def one_operator_source(api: Api, max_load: int = 5, **operator: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    anna = api.operator("Anna", max_load=max_load, **operator)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    return anna, source


# --- accept: the token says who ------------------------------------------------------------


def test_GIVEN_an_operator_token_WHEN_accepting_its_appeal_without_a_body_THEN_accepted_as_that_operator(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, source = one_operator_source(api)
    appeal = api.appeal(source["id"])
    operator = api.as_(dev_keys.token("operator", anna["id"]))

    reply = operator.post(f"/appeals/{appeal['id']}/accept")

    assert reply.status == 200, reply.body
    assert reply.body["accepted_at"] is not None and reply.body["accept_by"] is None
    event = api.get(f"/appeals/{appeal['id']}/history").body["events"][-1]
    assert (event["type"], event["operator_id"]) == ("accepted", anna["id"])


def test_GIVEN_an_operator_token_WHEN_accepting_someone_elses_appeal_without_a_body_THEN_403(
    api: Api, dev_keys: DevKeys
) -> None:
    _, source = one_operator_source(api)
    boris = api.operator("Boris")
    appeal = api.appeal(source["id"])

    reply = api.as_(dev_keys.token("operator", boris["id"])).post(f"/appeals/{appeal['id']}/accept")

    assert (reply.status, reply.body["error"]) == (403, "forbidden")
    assert api.get(f"/appeals/{appeal['id']}").body["accepted_at"] is None


def test_GIVEN_an_admin_token_naming_no_operator_WHEN_accepting_without_a_body_THEN_400_body_required(
    api: Api,
) -> None:
    _, source = one_operator_source(api)
    appeal = api.appeal(source["id"])

    reply = api.post(f"/appeals/{appeal['id']}/accept")

    assert (reply.status, reply.body["error"]) == (400, "malformed_request")
