"""The packaged template wires SQS the way partial batch failures need."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("package")
    chalice = Path(sys.executable).with_name("chalice")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run(
        [str(chalice), "package", "--stage", "prod", "--merge-template", ".chalice/resources.json", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return json.loads((out / "sam.json").read_text())


def test_GIVEN_the_merged_package_WHEN_reading_the_sqs_event_source_THEN_batch_item_failures_are_reported(
    template: dict[str, Any],
) -> None:
    event = template["Resources"]["Intake"]["Properties"]["Events"]["IntakeSqsEventSource"]

    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_GIVEN_the_merged_package_WHEN_reading_the_queues_THEN_the_handler_reads_our_queue_with_a_dlq_after_5(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    queue = resources["IntakeQueue"]["Properties"]
    event_queue_arn = resources["Intake"]["Properties"]["Events"]["IntakeSqsEventSource"]["Properties"]["Queue"]

    assert event_queue_arn["Fn::Sub"].endswith(f":{queue['QueueName']}")
    assert "IntakeQueue" in resources["Intake"]["DependsOn"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["IntakeDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert resources["IntakeDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"


def test_GIVEN_the_merged_package_WHEN_comparing_timeouts_THEN_the_handler_finishes_before_the_message_reappears(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]

    handler_timeout = resources["Intake"]["Properties"]["Timeout"]
    visibility = resources["IntakeQueue"]["Properties"]["VisibilityTimeout"]

    # AWS's advice for SQS event sources: visibility >= 6 × function timeout.
    assert visibility >= 6 * handler_timeout


def test_GIVEN_the_merged_package_WHEN_reading_the_api_THEN_it_gets_the_queue_url_by_reference(
    template: dict[str, Any],
) -> None:
    variables = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]

    assert variables["INTAKE_QUEUE_URL"] == {"Ref": "IntakeQueue"}


def test_GIVEN_the_merged_package_WHEN_reading_the_schedules_THEN_reassign_runs_each_minute_and_audit_each_quarter(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]

    reassign, audit = resources["Reassign"]["Properties"], resources["Audit"]["Properties"]

    assert reassign["Events"]["ReassignEvent"]["Properties"]["Schedule"] == "rate(1 minute)"
    assert audit["Events"]["AuditEvent"]["Properties"]["Schedule"] == "rate(15 minutes)"
    # A run ends before the next one starts (overlap is safe, just wasteful).
    assert reassign["Timeout"] < 60


def test_GIVEN_the_merged_package_WHEN_reading_the_scoring_schedules_THEN_rescore_every_5_minutes_and_train_daily(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]

    rescore, train = resources["Rescore"]["Properties"], resources["Train"]["Properties"]

    assert rescore["Events"]["RescoreEvent"]["Properties"]["Schedule"] == "rate(5 minutes)"
    assert train["Events"]["TrainEvent"]["Properties"]["Schedule"] == "rate(1 day)"
    assert rescore["Timeout"] < 5 * 60
    # The trainer gets room for numpy on 100,000 outcomes; the rest stay small.
    assert train["MemorySize"] >= 1024 and train["Timeout"] == 900
