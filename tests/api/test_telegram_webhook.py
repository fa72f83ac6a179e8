"""Telegram webhook: secret check, Update → intake message, enqueued once per update."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from chalice.test import Client

from app import app
from tests.support import Api, sqs_event, sqs_record

SECRET = "s3cr3t-token_for-tests"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
def queue(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="leadcrm-intake")["QueueUrl"]
    monkeypatch.setenv("INTAKE_QUEUE_URL", url)

    def drain(as_records: bool = False) -> list[dict[str, Any]]:
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        messages = received.get("Messages", [])
        if as_records:
            # As Lambda would deliver them, with the attributes the webhook signed them with.
            return [as_record(message) for message in messages]
        return [json.loads(message["Body"]) for message in messages]

    return drain


def as_record(message: dict[str, Any]) -> dict[str, Any]:
    record = sqs_record(message["Body"], sign=False)
    record["messageAttributes"] = {
        name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return record


@pytest.fixture
def telegram_source(api: Api) -> str:
    source = api.source("Telegram Bot")
    reply = api.patch(f"/sources/{source['id']}", {"telegram_secret_token": SECRET})
    assert reply.status == 200
    return source["id"]


def post_update(source_id: str, update: dict[str, Any], secret: str | None = SECRET) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[HEADER] = secret
    with Client(app, stage_name="dev") as client:
        response = client.http.post(f"/channels/telegram/{source_id}", headers=headers, body=json.dumps(update))
    return response.status_code, json.loads(response.body)


def sender(user_id: int = 100500) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ivan", "last_name": "Petrov", "language_code": "ru"}


def message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 7, "from": sender(), "chat": {"id": 100500, "type": "private"}, "date": 1763600000, **fields}


TEXT_UPDATE = {"update_id": 9001, "message": message(text="Hello! How much is it?")}


def test_GIVEN_a_text_update_WHEN_posted_with_the_secret_THEN_one_intake_message_is_enqueued(
    queue: Any, telegram_source: str
) -> None:
    status, body = post_update(telegram_source, TEXT_UPDATE)

    assert status == 200
    assert body == {"ok": True, "enqueued": True, "message_id": "tg-update-9001"}
    assert queue() == [
        {
            "version": 1,
            "source_id": telegram_source,
            "message_id": "tg-update-9001",
            # The handle and language are kept on the lead; the chat is where replies go.
            "lead": {"external_id": "tg:100500", "name": "Ivan Petrov", "language_code": "ru", "chat_id": "100500"},
            "text": "Hello! How much is it?",
            # Telegram says nothing of skills or VIP: the source's own rules decide (docs/routing.md).
            "required_tags": [],
            "vip": False,
        }
    ]


@pytest.mark.parametrize(
    ("update", "text", "phone"),
    [
        (
            {"update_id": 1, "message": message(photo=[{"file_id": "a", "width": 90, "height": 90}], caption="My car")},
            "My car",
            None,
        ),
        ({"update_id": 2, "message": message(photo=[{"file_id": "a", "width": 90, "height": 90}])}, "[photo]", None),
        (
            {"update_id": 3, "message": message(sticker={"file_id": "s", "emoji": "👍", "type": "regular"})},
            "[sticker 👍]",
            None,
        ),
        (
            {
                "update_id": 4,
                "message": message(contact={"phone_number": "+79990001122", "first_name": "Ivan", "user_id": 100500}),
            },
            "[contact]",
            "+79990001122",
        ),
        (
            {"update_id": 5, "edited_message": message(text="Sorry, I meant 20 units", edit_date=1763600100)},
            "[edited] Sorry, I meant 20 units",
            None,
        ),
    ],
)
def test_GIVEN_real_update_shapes_WHEN_posted_THEN_they_become_the_right_intake_messages(
    queue: Any, telegram_source: str, update: dict, text: str, phone: str | None
) -> None:
    status, _ = post_update(telegram_source, update)

    enqueued = queue()
    assert status == 200
    assert len(enqueued) == 1
    assert enqueued[0]["text"] == text
    assert enqueued[0]["message_id"] == f"tg-update-{update['update_id']}"
    assert enqueued[0]["lead"]["external_id"] == "tg:100500"
    assert enqueued[0]["lead"].get("phone") == phone


def test_GIVEN_someone_elses_contact_WHEN_posted_THEN_it_is_not_taken_as_the_leads_phone(
    queue: Any, telegram_source: str
) -> None:
    update = {"update_id": 6, "message": message(contact={"phone_number": "+1555", "first_name": "X", "user_id": 1})}

    post_update(telegram_source, update)

    assert "phone" not in queue()[0]["lead"]


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-but-long-enough"])
def test_GIVEN_a_missing_or_wrong_secret_WHEN_posted_THEN_401_and_nothing_enqueued(
    queue: Any, telegram_source: str, secret: str | None
) -> None:
    status, body = post_update(telegram_source, TEXT_UPDATE, secret=secret)

    assert status == 401
    assert body["error"] == "unauthorized"
    assert queue() == []


def test_GIVEN_a_source_without_a_secret_WHEN_posted_THEN_401(api: Api, queue: Any) -> None:
    source = api.source("No secret")

    status, _ = post_update(source["id"], TEXT_UPDATE, secret="anything-at-all-here")

    assert status == 401
    assert queue() == []


@pytest.mark.parametrize("source_id", ["src_00000000000000000000ff", "garbage"])
def test_GIVEN_an_unknown_source_WHEN_posted_THEN_401_like_a_wrong_secret(api: Api, queue: Any, source_id: str) -> None:
    # Answering 404 would let strangers probe which sources exist.
    assert post_update(source_id, TEXT_UPDATE)[0] == 401


@pytest.mark.parametrize("phone", ["", "   ", "+7" + "9" * 40])
def test_GIVEN_an_unusable_own_contact_phone_WHEN_posted_THEN_the_update_is_enqueued_without_a_phone(
    queue: Any, telegram_source: str, phone: str
) -> None:
    update = {"update_id": 8, "message": message(contact={"phone_number": phone, "first_name": "I", "user_id": 100500})}

    status, _ = post_update(telegram_source, update)

    assert status == 200
    assert "phone" not in queue()[0]["lead"]


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 10**200, "message": message(text="hi")},
        {"update_id": 9, "message": {**message(text="hi"), "from": {**sender(), "id": 10**200}}},
    ],
)
def test_GIVEN_ids_no_telegram_could_send_WHEN_posted_THEN_422_and_nothing_enqueued(
    queue: Any, telegram_source: str, update: dict
) -> None:
    status, body = post_update(telegram_source, update)

    assert status == 422
    assert body["error"] == "validation_error"
    assert queue() == []


def test_GIVEN_a_disabled_secret_WHEN_posted_THEN_401(api: Api, queue: Any, telegram_source: str) -> None:
    api.patch(f"/sources/{telegram_source}", {"telegram_secret_token": None})

    assert post_update(telegram_source, TEXT_UPDATE)[0] == 401


def test_GIVEN_a_secret_WHEN_reading_the_source_THEN_it_is_never_returned(api: Api, telegram_source: str) -> None:
    source = api.get(f"/sources/{telegram_source}").body

    assert source["telegram_webhook_enabled"] is True
    assert SECRET not in json.dumps(source)
    assert SECRET not in json.dumps(api.get("/sources").body)


@pytest.mark.parametrize("token", ["short", "has spaces in it!!!!", "x" * 257])
def test_GIVEN_a_weak_or_invalid_secret_WHEN_set_THEN_422(api: Api, token: str) -> None:
    source = api.source()

    reply = api.patch(f"/sources/{source['id']}", {"telegram_secret_token": token})

    assert reply.status == 422
    assert reply.body["errors"][0]["path"] == "body.telegram_secret_token"


def test_GIVEN_an_update_without_a_person_message_WHEN_posted_THEN_200_and_nothing_enqueued(
    queue: Any, telegram_source: str
) -> None:
    update = {"update_id": 77, "callback_query": {"id": "1", "from": sender(), "data": "x"}}

    status, body = post_update(telegram_source, update)

    assert status == 200
    assert body["enqueued"] is False
    assert queue() == []


def test_GIVEN_telegram_retries_an_update_WHEN_the_queue_is_processed_THEN_one_appeal(
    api: Api, queue: Any, telegram_source: str
) -> None:
    operator = api.operator("Anna")
    api.weights(telegram_source, {operator["id"]: 10})
    for _ in range(3):
        post_update(telegram_source, TEXT_UPDATE)
    enqueued = queue(as_records=True)

    with Client(app, stage_name="dev") as client:
        response = client.lambda_.invoke("intake", sqs_event(enqueued))

    assert len(enqueued) == 3
    assert response.payload == {"batchItemFailures": []}
    lead = api.get("/leads?external_id=tg:100500").body["items"][0]
    assert lead["appeals_count"] == 1
    assert api.get(f"/operators/{operator['id']}").body["current_load"] == 1


def test_GIVEN_every_kind_of_secret_problem_WHEN_posted_THEN_the_same_401_body(
    api: Api, queue: Any, telegram_source: str
) -> None:
    no_secret = api.source("No secret")["id"]
    answers = [
        post_update("src_00000000000000000000ff", TEXT_UPDATE, secret="anything-at-all-here"),
        post_update(no_secret, TEXT_UPDATE, secret="anything-at-all-here"),
        post_update(telegram_source, TEXT_UPDATE, secret="wrong-secret-but-long-enough"),
        post_update(telegram_source, TEXT_UPDATE, secret=None),
    ]

    assert {json.dumps(answer) for answer in answers} == {json.dumps(answers[0])}
    assert answers[0][0] == 401
    assert queue() == []


@pytest.mark.parametrize("blank", [" ", "\u3000", "\u2028", " \t\n "])
@pytest.mark.parametrize("field", ["text", "caption"])
def test_GIVEN_a_whitespace_only_text_or_caption_WHEN_posted_THEN_acknowledged_with_a_placeholder(
    queue: Any, telegram_source: str, blank: str, field: str
) -> None:
    status, body = post_update(telegram_source, {"update_id": 9100, "message": message(**{field: blank})})

    assert (status, body["ok"]) == (200, True)
    assert [sent["text"] for sent in queue()] == ["[empty message]"]
