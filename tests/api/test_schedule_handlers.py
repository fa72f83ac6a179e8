"""The scheduled Lambda functions run their job and report it as CloudWatch metrics (EMF)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from chalice.test import Client

from app import app
from chalicelib.models import Operator
from tests.support import Api

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scripts.local.dev_auth import DevKeys


@pytest.fixture
def client(tables: None) -> Iterator[Client]:
    with Client(app, stage_name="dev") as test_client:
        yield test_client


def emitted_metrics(output: str) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for line in output.splitlines():
        if line.startswith("{") and "_aws" in line:
            blob = json.loads(line)
            for definition in blob["_aws"]["CloudWatchMetrics"]:
                for metric in definition["Metrics"]:
                    value = blob[metric["Name"]]  # Powertools writes a list of values
                    metrics[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return metrics


def test_GIVEN_a_corrupted_counter_WHEN_the_audit_schedule_fires_THEN_drift_is_a_metric_and_repaired(
    client: Client, capsys: pytest.CaptureFixture[str], dev_keys: DevKeys
) -> None:
    api = Api(client, dev_keys.token("admin"))
    anna = api.operator("Anna")
    Operator(anna["id"]).update(actions=[Operator.active_load.set(2)])
    capsys.readouterr()

    client.lambda_.invoke("audit", client.events.generate_cw_event("Scheduled Event", "aws.events", {}, []))

    assert emitted_metrics(capsys.readouterr().out)["counter_drift"] == 2
    assert api.get(f"/operators/{anna['id']}").body["current_load"] == 0


def test_GIVEN_a_line_WHEN_the_reassign_schedule_fires_THEN_drained_is_a_metric(
    client: Client, capsys: pytest.CaptureFixture[str], dev_keys: DevKeys
) -> None:
    api = Api(client, dev_keys.token("admin"))
    anna = api.operator("Anna", max_load=0)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    api.appeal(source["id"])
    Operator(anna["id"]).update(actions=[Operator.max_load.set(1)])
    capsys.readouterr()

    client.lambda_.invoke("reassign", client.events.generate_cw_event("Scheduled Event", "aws.events", {}, []))

    metrics = emitted_metrics(capsys.readouterr().out)
    assert (metrics["drained"], metrics["still_waiting"]) == (1, 0)
