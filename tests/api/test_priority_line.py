"""A source's priority line through the API and the queue: VIP, hot and returning
leads go first; a fifo line's keys are exactly today's; the SQS message carries
required_tags and vip."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.core.ids import lead_id_for
from chalicelib.models import Appeal, Lead
from tests.support import intake_message, sqs_event, sqs_record

if TYPE_CHECKING:
    from tests.support import Api

PRIORITY = {"mode": "priority", "max_jump_seconds": 900, "hot_threshold": 0.7}


def busy_team(api: Api, **source: Any) -> tuple[dict, dict, dict]:
    """Anna (max_load 1) on one source, already holding one appeal."""
    anna = api.operator("Anna", max_load=1)
    src = api.source(**source)
    api.weights(src["id"], {anna["id"]: 10})
    busy = api.appeal(src["id"], lead_external_id="tg:returning")
    return anna, src, busy


def line(api: Api, source_id: str) -> list[str]:
    return [item["id"] for item in api.get(f"/sources/{source_id}/waiting?limit=50").body["items"]]


def test_GIVEN_a_priority_line_WHEN_plain_vip_returning_and_hot_leads_wait_THEN_vip_hot_returning_plain_is_the_order(
    api: Api,
) -> None:
    anna, source, _ = busy_team(api, line_order=PRIORITY)
    # A scored lead: hot at 0.9 (>= 0.7), but new to us (no appeal yet).
    Lead(lead_id_for("tg:hot")).update(actions=[Lead.ai_score.set(0.9), Lead.external_id.set("tg:hot")])
    plain = api.appeal(source["id"], lead_external_id="tg:plain")
    returning = api.appeal(source["id"], lead_external_id="tg:returning")
    hot = api.appeal(source["id"], lead_external_id="tg:hot")
    vip = api.appeal(source["id"], lead_external_id="tg:vip", vip=True)

    assert line(api, source["id"]) == [vip["id"], hot["id"], returning["id"], plain["id"]]
    api.patch(f"/operators/{anna['id']}", {"max_load": 2})

    assert api.get(f"/appeals/{vip['id']}").body["status"] == "active"
    assert [api.get(f"/appeals/{a['id']}").body["status"] for a in (hot, returning, plain)] == ["waiting"] * 3


def test_GIVEN_a_fifo_line_WHEN_a_vip_waits_THEN_arrival_order_and_the_key_is_todays(api: Api) -> None:
    _, source, _ = busy_team(api)
    first = api.appeal(source["id"])
    vip = api.appeal(source["id"], vip=True)

    assert line(api, source["id"]) == [first["id"], vip["id"]]
    for appeal in (first, vip):
        row = Appeal.get(appeal["id"])
        assert row.waiting_key == f"queued#{row.created_at}#{row.appeal_id}"


def test_GIVEN_a_line_switched_to_priority_WHEN_new_appeals_arrive_THEN_those_already_waiting_keep_their_keys(
    api: Api,
) -> None:
    _, source, _ = busy_team(api)
    old = api.appeal(source["id"])
    key_before = Appeal.get(old["id"]).waiting_key

    api.patch(f"/sources/{source['id']}", {"line_order": PRIORITY})
    vip = api.appeal(source["id"], vip=True)

    assert Appeal.get(old["id"]).waiting_key == key_before
    assert line(api, source["id"]) == [vip["id"], old["id"]]


@pytest.fixture
def lambda_client(tables: None) -> Any:
    with Client(app, stage_name="dev") as client:
        yield client.lambda_


def test_GIVEN_an_sqs_message_with_required_tags_and_vip_WHEN_handled_THEN_they_are_on_the_appeal_and_routing_obeys(
    api: Api, lambda_client: Any
) -> None:
    anna = api.operator("Anna", max_load=10, tags=["lang:uk"])
    boris = api.operator("Boris", max_load=10)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 1, boris["id"]: 100})
    messages = [
        intake_message(source["id"], lead={"external_id": f"tg:sqs-{i}"}, required_tags=["lang:uk"], vip=True)
        for i in range(6)
    ]

    response = lambda_client.invoke("intake", sqs_event([sqs_record(m) for m in messages]))

    assert response.payload == {"batchItemFailures": []}
    appeals = [api.get(f"/leads/{lead_id_for(f'tg:sqs-{i}')}/appeals").body["items"][0] for i in range(6)]
    assert {a["operator"]["id"] for a in appeals} == {anna["id"]}
    assert all(a["required_tags"] == ["lang:uk"] and a["vip"] for a in appeals)


def test_GIVEN_an_sqs_message_with_a_malformed_tag_WHEN_handled_THEN_it_fails_alone(
    api: Api, lambda_client: Any
) -> None:
    anna = api.operator("Anna", max_load=10)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 1})
    good, bad = sqs_record(intake_message(source["id"])), sqs_record(intake_message(source["id"], required_tags=["UK"]))

    response = lambda_client.invoke("intake", sqs_event([good, bad]))

    assert [f["itemIdentifier"] for f in response.payload["batchItemFailures"]] == [bad["messageId"]]
    assert api.get(f"/operators/{anna['id']}").body["current_load"] == 1
