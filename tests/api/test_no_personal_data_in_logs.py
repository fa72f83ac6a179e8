"""No log line, at any level, carries a person's data: not the lead's phone
(as typed or as E.164), e-mail, name or words, not an operator's name, not
the bearer token. Every line of a whole working day is captured at DEBUG:
intake over HTTP and SQS, assignment, the waiting line and its drain,
accept and close, lead edits, the funnel, scoring, the hand-off to sales,
the scheduled runs, and the ways requests and records fail."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from chalice.test import Client

from app import app
from tests.log_capture import captured_logs, emf_metrics
from tests.support import Api, appeal_body, intake_message, on_dynamodb_call, sqs_event, sqs_record

if TYPE_CHECKING:
    from collections.abc import Iterator

# Distinctive values: none of them can appear in a log line by chance.
LEAD_NAME = "Zebulon Quixwhistle"
LEAD_PHONE_TYPED = "+44 20 7946 0958"
LEAD_PHONE_E164 = "+442079460958"
LEAD_EMAIL = "zebulon.quixwhistle@example.org"
LEAD_TEXT = "Marmalade heliotrope invoice for the Quixwhistle account, ring me"
NEW_NAME = "Ottoline Vexworth"
NEW_PHONE_TYPED = "+1 212 555 0199"
NEW_PHONE_E164 = "+12125550199"
NEW_EMAIL = "ottoline.vexworth@example.net"
SQS_NAME = "Barnaby Flintlock-Oyelaran"
SQS_PHONE_TYPED = "+49 30 901820"
SQS_PHONE_E164 = "+4930901820"
SQS_EMAIL = "barnaby.flintlock@example.com"
SQS_TEXT = "Periwinkle cantaloupe quotation please, thrice"
# A channel whose external id is the person's phone (WhatsApp).
EXTERNAL_ID_PHONE = "wa:+447700900461"
OPERATOR_NAME = "Philippa Grimsditch"
BACKUP_NAME = "Leopold Wanamaker-Ito"

PERSONAL = (
    LEAD_NAME,
    "Quixwhistle",
    LEAD_PHONE_TYPED,
    LEAD_PHONE_E164,
    "79460958",
    LEAD_EMAIL,
    LEAD_TEXT,
    "Marmalade heliotrope",
    NEW_NAME,
    "Vexworth",
    NEW_PHONE_TYPED,
    NEW_PHONE_E164,
    "5550199",
    NEW_EMAIL,
    SQS_NAME,
    "Flintlock",
    SQS_PHONE_TYPED,
    SQS_PHONE_E164,
    "30901820",
    SQS_EMAIL,
    SQS_TEXT,
    "Periwinkle cantaloupe",
    "447700900461",
    OPERATOR_NAME,
    "Grimsditch",
    BACKUP_NAME,
    "Wanamaker",
)


@pytest.fixture
def client(tables: None) -> Iterator[Client]:
    with Client(app, stage_name="dev") as test_client:
        yield test_client


def a_working_day(api: Api, client: Client) -> None:
    philippa = api.operator(OPERATOR_NAME, max_load=1)
    source = api.source("Web form", lead_points=0.3)
    api.weights(source["id"], {philippa["id"]: 10})

    # Intake over HTTP: assigned at once, then one that has to wait.
    first = api.appeal(
        source["id"],
        lead_external_id=EXTERNAL_ID_PHONE,
        lead_name=LEAD_NAME,
        lead_phone=LEAD_PHONE_TYPED,
        lead_email=LEAD_EMAIL,
        message=LEAD_TEXT,
    )
    assert first["operator"]["id"] == philippa["id"]
    second = api.appeal(source["id"], lead_name=LEAD_NAME, lead_phone=LEAD_PHONE_TYPED, message=LEAD_TEXT)
    assert second["status"] == "waiting"

    # Refusals: a phone holding the name (422), a reused message id (409), a closed appeal (409).
    bad_phone = appeal_body(source["id"], lead_name=LEAD_NAME, lead_phone=f"{LEAD_NAME} {LEAD_PHONE_TYPED}")
    assert api.post("/appeals", bad_phone).status == 422
    bad_email = appeal_body(source["id"], lead_email=f"{LEAD_NAME} <{LEAD_EMAIL}")
    assert api.post("/appeals", bad_email).status == 422
    reused = appeal_body(source["id"], message_id=first["message_id"], message=LEAD_TEXT, lead_name=NEW_NAME)
    assert api.post("/appeals", reused).status == 409

    # Accept, close (the line drains to the freed slot), close again.
    assert api.post(f"/appeals/{first['id']}/accept", {"operator_id": philippa["id"]}).status == 200
    assert api.post(f"/appeals/{first['id']}/close").status == 200
    assert api.get(f"/appeals/{second['id']}").body["status"] == "active"
    assert api.post(f"/appeals/{first['id']}/close").status == 409
    assert api.post(f"/appeals/{second['id']}/accept", {"operator_id": "op_nobody"}).status == 409

    # The lead: contacts edited, through the funnel, scored, handed to sales.
    lead_id = first["lead_id"]
    patch = {"name": NEW_NAME, "phone": NEW_PHONE_TYPED, "email": NEW_EMAIL, "business_domain": "retail"}
    assert api.patch(f"/leads/{lead_id}", patch).status == 200
    assert api.patch(f"/leads/{lead_id}", {"phone": f"call {NEW_NAME}"}).status == 422
    assert api.post(f"/leads/{lead_id}/stage", {"stage": "qualified"}).status == 409
    assert api.post(f"/leads/{lead_id}/stage", {"stage": "contacted"}).status == 200
    assert api.post(f"/leads/{lead_id}/transfer").status == 409
    assert api.post(f"/leads/{lead_id}/stage", {"stage": "qualified"}).status == 200
    assert api.post(f"/leads/{lead_id}/analyze").body["ai_score"] >= 0.6
    transfer = api.post(f"/leads/{lead_id}/transfer")
    assert transfer.status == 201, transfer.body
    assert api.post(f"/deals/{transfer.body['deal']['id']}/stage", {"stage": "kyc"}).status == 200

    # Intake over SQS: one good record, and bad ones that carry personal data.
    leopold = api.operator(BACKUP_NAME, max_load=5)
    api.weights(source["id"], {philippa["id"]: 10, leopold["id"]: 10})
    lead = {"external_id": "tg:5550199", "name": SQS_NAME, "phone": SQS_PHONE_TYPED, "email": SQS_EMAIL}
    good = sqs_record(intake_message(source["id"], lead=lead, text=SQS_TEXT))
    off_schema = sqs_record(intake_message(source["id"], lead={**lead, "phone": f"{SQS_NAME} {SQS_PHONE_TYPED}"}))
    not_json = sqs_record(f'{{"text": "{SQS_TEXT}", "phone": "{SQS_PHONE_E164}"')
    unknown_source = sqs_record(intake_message("src_unknown", lead=lead, text=SQS_TEXT))
    response = client.lambda_.invoke("intake", sqs_event([good, off_schema, not_json, unknown_source]))
    assert len(response.payload["batchItemFailures"]) == 3

    # Failures nobody planned for, whose text quotes the person: the lines
    # keep the exception's type and frames, not its text.
    def broken(**_: Any) -> None:
        raise RuntimeError(f"driver choked on {LEAD_PHONE_E164} / {LEAD_EMAIL}")

    with on_dynamodb_call("TransactWriteItems", broken):
        assert api.post("/appeals", appeal_body(source["id"], lead_name=LEAD_NAME)).status == 500
        retried = client.lambda_.invoke("intake", sqs_event([sqs_record(intake_message(source["id"], lead=lead))]))
        assert len(retried.payload["batchItemFailures"]) == 1

    # The scheduled runs.
    cron = client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
    for job in ("reassign", "audit", "rescore"):
        client.lambda_.invoke(job, cron)


def test_GIVEN_a_working_day_WHEN_every_line_is_captured_at_debug_THEN_none_holds_personal_data(
    api: Api, client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()

    with captured_logs() as logs:
        a_working_day(api, client)

    printed = capsys.readouterr()
    everything = "\n".join((logs.text(), printed.out, printed.err))
    leaks = [value for value in PERSONAL if value in everything]
    assert not leaks, [line for line in everything.splitlines() if any(value in line for value in leaks)][:5]
    # JSON escapes would hide a value from the plain search above.
    for line in logs.app_lines():
        decoded = json.dumps(line, ensure_ascii=False)
        assert not [value for value in PERSONAL if value in decoded], decoded
    token = getattr(api, "_token", None)
    if token:
        assert token not in everything
    # The day did get logged, and counted.
    messages = {line["message"] for line in logs.app_lines()}
    expected = {
        "appeal received",
        "appeal assigned",
        "appeal waiting",
        "appeal drained from the waiting line",
        "appeal accepted",
        "appeal closed",
        "lead updated",
        "lead stage changed",
        "lead score written",
        "lead transferred to sales",
        "deal stage changed",
        "intake record processed",
        "intake record rejected",
        "intake batch handled",
        "intake record failed; left for retry",
        "request handled",
    }
    assert expected <= messages, expected - messages
    [crash] = [line for line in logs.app_lines() if line.get("exception_name") == "RuntimeError"]
    assert "<text withheld>" in crash["exception"] and "Traceback" in crash["exception"]
    metrics: dict[str, Any] = emf_metrics(printed.out)
    assert metrics["appeals_received"] == 3
    assert metrics["appeals_assigned"] == 3
    assert metrics["appeals_waiting"] == 1
    assert metrics["appeals_drained"] == 1
    assert metrics["intake_records_failed"] == 4
    assert metrics["scoring_latency_ms"] >= 0
