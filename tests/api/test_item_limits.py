"""Finding 3 (issue 20): nothing from outside grows an item without bound, and
DynamoDB refusing a write as invalid (an item past 400 KB) is the message's
permanent failure, never a 500 or an endless retry."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from app import app
from chalicelib.models import Appeal
from tests.support import Api, appeal_body, intake_message, on_dynamodb_call, sqs_event, sqs_record


def stored_size(appeal_id: str) -> int:
    """The appeal item's size as DynamoDB counts it (names + values), roughly."""
    item = Appeal._get_connection().get_item(appeal_id, consistent_read=True)["Item"]
    return sum(len(name) + len(str(value)) for name, value in item.items())


def sticky_appeal(api: Api, external_id: str) -> tuple[str, dict[str, Any]]:
    """A sticky source with one operator, and the lead's open appeal there."""
    source = api.source(sticky=True)
    api.weights(source["id"], {api.operator("Anna")["id"]: 1})
    return source["id"], api.appeal(source["id"], lead_external_id=external_id)


def test_GIVEN_a_sticky_appeal_WHEN_flooded_with_follow_ups_THEN_its_item_stays_the_same_size_and_it_closes(
    api: Api,
) -> None:
    source_id, opened = sticky_appeal(api, "tg:flood")
    # Each Telegram update has a new id; the old set kept every one of them on the appeal.
    api.post("/appeals", appeal_body(source_id, lead_external_id="tg:flood"))
    after_one = stored_size(opened["id"])
    for _ in range(150):
        assert api.post("/appeals", appeal_body(source_id, lead_external_id="tg:flood")).status == 200

    # The digits of the message count and of the conversation's last sequence (the messages are items of their own).
    assert stored_size(opened["id"]) <= after_one + 4
    assert api.get(f"/appeals/{opened['id']}").body["message_count"] == 152
    closed = api.post(f"/appeals/{opened['id']}/close")
    assert (closed.status, closed.body["status"]) == (200, "closed")


def test_GIVEN_an_attached_follow_up_WHEN_redelivered_THEN_it_is_counted_once_even_after_the_appeal_closed(
    api: Api,
) -> None:
    source_id, opened = sticky_appeal(api, "tg:again")
    follow_up = appeal_body(source_id, lead_external_id="tg:again")
    assert api.post("/appeals", follow_up).body["id"] == opened["id"]
    assert api.post("/appeals", follow_up).body["id"] == opened["id"]
    api.post(f"/appeals/{opened['id']}/close")

    late = api.post("/appeals", follow_up)

    assert (late.status, late.body["id"]) == (200, opened["id"])
    assert api.get(f"/appeals/{opened['id']}").body["message_count"] == 2


def too_large(**_: Any) -> None:
    error = {"Code": "ValidationException", "Message": "Item size has exceeded the maximum allowed size"}
    raise ClientError({"Error": error}, "TransactWriteItems")


def test_GIVEN_dynamodb_refuses_an_item_as_too_large_WHEN_posting_an_appeal_THEN_422_not_500(api: Api) -> None:
    source = api.source()
    with on_dynamodb_call("TransactWriteItems", too_large):
        reply = api.post("/appeals", appeal_body(source["id"]))

    assert reply.status == 422
    assert reply.body["error"] == "validation_error"


@pytest.fixture
def lambda_client(tables: None) -> Any:
    with Client(app, stage_name="dev") as client:
        yield client.lambda_


def test_GIVEN_dynamodb_refuses_one_records_write_WHEN_the_batch_is_handled_THEN_only_that_record_fails(
    api: Api, lambda_client: Any
) -> None:
    source = api.source()
    records = [sqs_record(intake_message(source["id"])) for _ in range(3)]
    calls = {"n": 0}

    def refuse_the_second(**kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            too_large(**kwargs)

    with on_dynamodb_call("TransactWriteItems", refuse_the_second):
        response = lambda_client.invoke("intake", sqs_event(records))

    assert [item["itemIdentifier"] for item in response.payload["batchItemFailures"]] == [records[1]["messageId"]]
