"""The SQS intake handler: idempotent, and a bad record fails alone."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from chalice.test import Client

from app import app
from tests.support import Api, bot_key, intake_message, on_dynamodb_call, signed, sqs_event, sqs_record


@pytest.fixture
def lambda_client(tables: None) -> Any:
    with Client(app, stage_name="dev") as client:
        yield client.lambda_


@pytest.fixture
def source_id(api: Api) -> str:
    operator = api.operator("Anna", max_load=100)
    source = api.source("Telegram Bot")
    api.weights(source["id"], {operator["id"]: 10})
    return source["id"]


def total_appeals(api: Api) -> int:
    return sum(item["total_appeals"] for item in api.caught_up().get("/stats/distribution").body["items"])


def failures(response: Any) -> list[str]:
    return sorted(item["itemIdentifier"] for item in response.payload["batchItemFailures"])


def test_GIVEN_a_valid_record_WHEN_handled_THEN_one_assigned_appeal_with_its_lead(
    api: Api, lambda_client: Any, source_id: str
) -> None:
    message = intake_message(source_id, lead={"external_id": "tg:42", "name": "Ivan", "phone": "+79990001122"})

    response = lambda_client.invoke("intake", sqs_event([sqs_record(message)]))

    assert response.payload == {"batchItemFailures": []}
    lead = api.get("/leads?external_id=tg:42").body["items"][0]
    assert lead["name"] == "Ivan"
    assert lead["phone"] == "+79990001122"
    appeal = api.get(f"/leads/{lead['id']}/appeals").body["items"][0]
    assert appeal["status"] == "active"
    assert appeal["message"] == message["text"]
    assert appeal["message_id"] == message["message_id"]


def test_GIVEN_a_batch_of_10_with_2_invalid_WHEN_handled_THEN_exactly_those_2_are_reported(
    api: Api, lambda_client: Any, source_id: str
) -> None:
    records = [sqs_record(intake_message(source_id)) for _ in range(8)]
    invalid = [sqs_record("{not json"), sqs_record(intake_message(source_id, version=2))]
    batch = [*records[:3], invalid[0], *records[3:6], invalid[1], *records[6:]]

    response = lambda_client.invoke("intake", sqs_event(batch))

    assert failures(response) == sorted(record["messageId"] for record in invalid)
    assert total_appeals(api) == 8


def test_GIVEN_the_same_batch_WHEN_delivered_3_times_THEN_exactly_8_appeals(
    api: Api, lambda_client: Any, source_id: str
) -> None:
    batch = [sqs_record(intake_message(source_id)) for _ in range(8)] + [
        sqs_record(intake_message(source_id, text="")),
        sqs_record(intake_message("src_00000000000000000000ff")),
    ]

    results = [failures(lambda_client.invoke("intake", sqs_event(batch))) for _ in range(3)]

    assert results[0] == results[1] == results[2] == sorted(r["messageId"] for r in batch[8:])
    assert total_appeals(api) == 8
    assert api.get(f"/stats/sources/{source_id}/operators").body["operators"][0]["current_load"] == 8


def test_GIVEN_an_unknown_source_WHEN_handled_THEN_only_that_record_fails(
    api: Api, lambda_client: Any, source_id: str
) -> None:
    good = sqs_record(intake_message(source_id))
    unknown = sqs_record(intake_message("src_00000000000000000000ff"))

    response = lambda_client.invoke("intake", sqs_event([good, unknown]))

    assert failures(response) == [unknown["messageId"]]
    assert total_appeals(api) == 1


def test_GIVEN_a_bad_record_WHEN_rejected_THEN_the_log_says_why_without_personal_data(
    api: Api, lambda_client: Any, source_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret_text = "my passport is 4510 123456"
    message = intake_message(
        source_id,
        text=secret_text,
        lead={"external_id": "tg:1", "phone": "+7" + "9" * 40, "email": "a@b.co", "+79991112233": "as a key"},
    )
    record = sqs_record(message)

    with caplog.at_level(logging.DEBUG):
        response = lambda_client.invoke("intake", sqs_event([record]))

    assert failures(response) == [record["messageId"]]
    logged = "\n".join(r.getMessage() + json.dumps(getattr(r, "__dict__", {}), default=str) for r in caplog.records)
    assert record["messageId"] in logged
    assert "lead.phone" in logged
    assert "lead.<unknown field>" in logged
    for personal in (secret_text, "+7999", "a@b.co"):
        assert personal not in logged


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"lead": {"name": "no external id"}},
        {"text": ""},
        {"message_id": ""},
        {"extra": "field"},
        {"sent_at": "yesterday"},
    ],
)
def test_GIVEN_a_message_off_schema_WHEN_handled_THEN_it_fails_and_nothing_is_stored(
    api: Api, lambda_client: Any, source_id: str, change: dict
) -> None:
    record = sqs_record({**intake_message(source_id), **change})

    response = lambda_client.invoke("intake", sqs_event([record]))

    assert failures(response) == [record["messageId"]]
    assert total_appeals(api) == 0


def test_GIVEN_sent_at_WHEN_handled_THEN_the_message_is_accepted(api: Api, lambda_client: Any, source_id: str) -> None:
    record = sqs_record(intake_message(source_id, sent_at="2026-11-20T12:00:00Z"))

    assert failures(lambda_client.invoke("intake", sqs_event([record]))) == []
    assert total_appeals(api) == 1


def test_GIVEN_a_transient_dynamodb_failure_WHEN_handled_THEN_only_that_record_is_retried_and_redelivery_succeeds(
    api: Api, lambda_client: Any, source_id: str
) -> None:
    records = [sqs_record(intake_message(source_id)) for _ in range(3)]
    calls = {"GetItem": 0}

    def fail_second_read(**_: Any) -> None:
        calls["GetItem"] += 1
        if calls["GetItem"] == 2:
            raise EndpointConnectionError(endpoint_url="http://dynamodb.invalid")

    with on_dynamodb_call("GetItem", fail_second_read):
        first = lambda_client.invoke("intake", sqs_event(records))
    retry = lambda_client.invoke("intake", sqs_event([records[1]]))

    assert failures(first) == [records[1]["messageId"]]
    assert failures(retry) == []
    assert total_appeals(api) == 3


def test_GIVEN_unsigned_and_forged_records_WHEN_handled_THEN_each_fails_alone_without_content_logged_or_written(
    api: Api, lambda_client: Any, source_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    other = api.source("Another bot")["id"]
    good = sqs_record(intake_message(source_id))
    unsigned = sqs_record(intake_message(source_id, text="UNSIGNED-TEXT"), sign=False)
    # Signed by the other source's key, but naming this source.
    body = json.dumps(intake_message(source_id, text="FORGED-TEXT"))
    forged = sqs_record(body, sign=False)
    forged["messageAttributes"] = {
        name: {"stringValue": value["StringValue"], "dataType": "String"} for name, value in signed(body, other).items()
    }
    tampered = sqs_record(intake_message(source_id))
    tampered["body"] = tampered["body"].replace("Hello", "Hallo")

    with caplog.at_level(logging.INFO):
        response = lambda_client.invoke("intake", sqs_event([good, unsigned, forged, tampered]))

    named = {r["messageId"]: n for n, r in {"unsigned": unsigned, "forged": forged, "tampered": tampered}.items()}
    assert sorted(named.get(m, m) for m in failures(response)) == ["forged", "tampered", "unsigned"]
    assert total_appeals(api) == 1
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert "UNSIGNED-TEXT" not in logged and "FORGED-TEXT" not in logged
    rejected = [r for r in caplog.records if r.getMessage() == "intake record rejected"]
    assert [(r.error, r.reason) for r in rejected] == [  # type: ignore[attr-defined]
        ("Unauthorized", "queue message is not signed by a live key of its source")
    ] * 3


def test_GIVEN_a_revoked_key_WHEN_a_record_signed_with_it_arrives_THEN_it_fails(
    api: Api, lambda_client: Any, source_id: str
) -> None:
    record = sqs_record(intake_message(source_id))
    key_id = bot_key(source_id).split(".")[2]
    assert api.call("DELETE", f"/sources/{source_id}/keys/{key_id}").status == 204

    assert failures(lambda_client.invoke("intake", sqs_event([record]))) == [record["messageId"]]
