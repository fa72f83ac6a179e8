"""Logs are JSON lines an on-call engineer can follow: every line of one HTTP
request carries its request id, every line of one intake record its SQS
messageId, every line of a scheduled run its event id; each state change is
one line with the ids it concerns. Metrics go out once per invocation."""

from __future__ import annotations

import uuid
import warnings
from typing import TYPE_CHECKING, Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.access.principal import SYSTEM
from chalicelib.core.observability import metrics
from chalicelib.models import Operator
from chalicelib.routing.intake import submit_appeal
from chalicelib.schemas.appeals import AppealCreate
from tests.log_capture import captured_logs, emf_metrics
from tests.support import Api, intake_message, sqs_event, sqs_record

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def client(tables: None) -> Iterator[Client]:
    with Client(app, stage_name="dev") as test_client:
        yield test_client


@pytest.fixture
def team(api: Api) -> tuple[str, str]:
    anna = api.operator("Anna", max_load=5)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    return anna["id"], source["id"]


def the_line(lines: list[dict[str, Any]], message: str, **fields: Any) -> dict[str, Any]:
    found = [line for line in lines if line["message"] == message and fields.items() <= line.items()]
    assert len(found) == 1, (message, fields, lines)
    return found[0]


class GatewayContext:
    """What Lambda passes as the context: only the request id matters here."""

    aws_request_id = "lambda-request-id"
    function_name = "leadcrm-dev"
    memory_limit_in_mb = 512


def gateway_event(method: str, path: str, request_id: str) -> dict[str, Any]:
    """An API Gateway (REST, proxy) event as Lambda receives it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"accept": "application/json"},
        "multiValueHeaders": {"accept": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": request_id,
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def test_GIVEN_an_appeal_posted_WHEN_assigned_THEN_its_lines_are_json_with_ids_and_one_correlation_id(
    api: Api, team: tuple[str, str]
) -> None:
    operator_id, source_id = team

    with captured_logs() as logs:
        appeal = api.appeal(source_id)
        api.get("/health")

    lines = logs.app_lines()
    received = the_line(lines, "appeal received", appeal_id=appeal["id"])
    assigned = the_line(lines, "appeal assigned", appeal_id=appeal["id"])
    assert (assigned["operator_id"], assigned["source_id"], assigned["lead_id"]) == (
        operator_id,
        source_id,
        appeal["lead_id"],
    )
    assert (assigned["how"], assigned["trigger"], assigned["level"]) == ("weighted_draw", "intake", "INFO")
    assert assigned["service"] == "leadcrm" and assigned["timestamp"]
    assert assigned["correlation_id"] and assigned["correlation_id"] == received["correlation_id"]
    # Another request, another id; and no id outlives its request.
    health = the_line(lines, "request handled", route="/health")
    assert health["correlation_id"] not in (None, assigned["correlation_id"])


def test_GIVEN_an_api_gateway_request_WHEN_it_logs_THEN_the_correlation_id_is_the_gateway_request_id(
    tables: None,
) -> None:
    request_id = f"gw-{uuid.uuid4()}"

    with captured_logs() as logs:
        response = app(gateway_event("GET", "/health", request_id), GatewayContext())

    assert response["statusCode"] == 200
    line = the_line(logs.app_lines(), "request handled", route="/health")
    assert (line["correlation_id"], line["method"], line["status"]) == (request_id, "GET", 200)


def test_GIVEN_an_sqs_batch_WHEN_handled_THEN_each_record_s_lines_carry_its_message_id(
    api: Api, client: Client, team: tuple[str, str]
) -> None:
    _, source_id = team
    good = sqs_record(intake_message(source_id), message_id=f"sqs-{uuid.uuid4()}")
    bad = sqs_record("{not json", message_id=f"sqs-{uuid.uuid4()}")

    with captured_logs() as logs:
        client.lambda_.invoke("intake", sqs_event([good, bad]))

    lines = logs.app_lines()
    processed = the_line(lines, "intake record processed", correlation_id=good["messageId"])
    the_line(lines, "appeal received", appeal_id=processed["appeal_id"], correlation_id=good["messageId"])
    the_line(lines, "appeal assigned", appeal_id=processed["appeal_id"], correlation_id=good["messageId"])
    the_line(lines, "intake record rejected", correlation_id=bad["messageId"], error="MalformedInput")
    batch = the_line(lines, "intake batch handled")
    assert (batch["records"], batch["failed"]) == (2, 1)
    assert batch.get("correlation_id") not in (good["messageId"], bad["messageId"])


def test_GIVEN_a_line_WHEN_the_reassign_schedule_drains_it_THEN_its_lines_carry_the_event_id(
    api: Api, client: Client
) -> None:
    anna = api.operator("Anna", max_load=0)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    waiting = api.appeal(source["id"])
    Operator(anna["id"]).update(actions=[Operator.max_load.set(1)])  # capacity nobody announced
    event = client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])

    with captured_logs() as logs:
        client.lambda_.invoke("reassign", event)

    drained = the_line(logs.app_lines(), "appeal drained from the waiting line", appeal_id=waiting["id"])
    assert (drained["operator_id"], drained["correlation_id"]) == (anna["id"], event["id"])
    assert the_line(logs.app_lines(), "reassignment run")["correlation_id"] == event["id"]


def test_GIVEN_one_request_WHEN_it_records_metrics_THEN_they_go_out_in_one_emf_line(
    api: Api, team: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, source_id = team
    capsys.readouterr()

    api.appeal(source_id)

    out = capsys.readouterr().out
    assert len([line for line in out.splitlines() if '"_aws"' in line]) == 1
    assert emf_metrics(out) == {"appeals_received": 1, "appeals_assigned": 1}


def test_GIVEN_a_request_that_changes_nothing_WHEN_handled_THEN_no_metrics_and_no_warning(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert api.get("/health").status == 200

    assert '"_aws"' not in capsys.readouterr().out
    assert not [w for w in caught if "metrics" in str(w.message).lower()]


def test_GIVEN_services_called_outside_an_invocation_WHEN_they_change_state_THEN_no_metrics_pile_up(
    api: Api, team: tuple[str, str]
) -> None:
    _, source_id = team

    submit_appeal(AppealCreate(lead_external_id="tg:outside", source_id=source_id, message="hi"), viewer=SYSTEM)

    assert metrics.metric_set == {}
