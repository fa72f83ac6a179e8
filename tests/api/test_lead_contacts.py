"""Finding 1 (issue 20): a source's bot key cannot rewrite, or let its operators
read, what another source collected about a person."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.support import Api, appeal_body, operator_token

if TYPE_CHECKING:
    from scripts.local.dev_auth import DevKeys

PERSON = "tg:777000111"


@pytest.fixture
def two_sources(api: Api, dev_keys: DevKeys) -> dict[str, Any]:
    anna, boris, a, b = api.two_teams("Web form A", "Telegram B")
    key_a = api.post(f"/sources/{a['id']}/keys", {}).body["api_key"]
    # B collected the person's real contacts first.
    collected = api.appeal(
        b["id"], lead_external_id=PERSON, lead_name="Ivan", lead_phone="+79990001122", lead_email="ivan@example.com"
    )
    return {
        "a": a,
        "b": b,
        "bot_a": api.as_(key_a),
        "lead_id": collected["lead_id"],
        "as_anna": api.as_(operator_token(dev_keys, anna["id"])),
        "as_boris": api.as_(operator_token(dev_keys, boris["id"])),
    }


def test_GIVEN_contacts_collected_by_source_b_WHEN_source_as_key_posts_other_ones_THEN_the_leads_fields_are_kept(
    api: Api, two_sources: dict[str, Any]
) -> None:
    hijack = appeal_body(
        two_sources["a"]["id"],
        lead_external_id=PERSON,
        lead_name="Mallory",
        lead_phone="+79990009999",
        lead_email="mallory@example.com",
    )
    assert two_sources["bot_a"].post("/appeals", hijack).status == 201

    lead = api.get(f"/leads/{two_sources['lead_id']}").body
    assert (lead["name"], lead["phone"], lead["email"]) == ("Ivan", "+79990001122", "ivan@example.com")
    # The admin sees what each source said, and where A's record differs.
    by_source = {record["source_id"]: record for record in lead["contacts"]}
    assert by_source[two_sources["b"]["id"]]["differs"] == []
    assert by_source[two_sources["a"]["id"]]["phone"] == "+79990009999"
    assert by_source[two_sources["a"]["id"]]["differs"] == ["name", "phone", "email"]


def test_GIVEN_a_lead_known_to_two_sources_WHEN_as_operator_reads_it_THEN_only_what_a_collected_shows(
    two_sources: dict[str, Any],
) -> None:
    two_sources["bot_a"].post("/appeals", appeal_body(two_sources["a"]["id"], lead_external_id=PERSON))

    seen_by_anna = two_sources["as_anna"].get(f"/leads/{two_sources['lead_id']}")
    seen_by_boris = two_sources["as_boris"].get(f"/leads/{two_sources['lead_id']}").body

    assert seen_by_anna.status == 200
    assert (seen_by_anna.body["name"], seen_by_anna.body["phone"], seen_by_anna.body["email"]) == (None, None, None)
    assert seen_by_anna.body["contacts"] == []
    assert (seen_by_boris["name"], seen_by_boris["phone"]) == ("Ivan", "+79990001122")
    assert [record["source_id"] for record in seen_by_boris["contacts"]] == [two_sources["b"]["id"]]
    assert seen_by_boris["contacts"][0]["differs"] == []


def test_GIVEN_a_source_limited_to_tg_ids_WHEN_its_key_speaks_for_a_web_id_THEN_422_and_nothing_written(
    api: Api, two_sources: dict[str, Any]
) -> None:
    source_id = two_sources["a"]["id"]
    assert api.patch(f"/sources/{source_id}", {"external_id_prefixes": ["web:"]}).body["external_id_prefixes"] == [
        "web:"
    ]

    reply = two_sources["bot_a"].post("/appeals", appeal_body(source_id, lead_external_id=PERSON, lead_name="X"))

    assert reply.status == 422
    assert reply.body["errors"][0]["path"] == "body.lead_external_id"
    assert api.get(f"/leads/{two_sources['lead_id']}").body["appeals_count"] == 1
    assert two_sources["bot_a"].post("/appeals", appeal_body(source_id, lead_external_id="web:42")).status == 201


def test_GIVEN_an_appeal_taken_from_an_operator_WHEN_it_reads_the_lead_THEN_404_as_for_a_missing_one(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, boris = api.operator("Anna", max_load=5), api.operator("Boris", max_load=5)
    source = api.source("Line")
    api.weights(source["id"], {anna["id"]: 1})
    appeal = api.appeal(source["id"], lead_name="Ivan")
    as_anna = api.as_(operator_token(dev_keys, anna["id"]))
    assert as_anna.get(f"/leads/{appeal['lead_id']}").status == 200

    api.weights(source["id"], {boris["id"]: 1})
    assert api.patch(f"/operators/{anna['id']}?redistribute=true", {"is_active": False}).status == 200

    assert api.get(f"/appeals/{appeal['id']}").body["operator"]["id"] == boris["id"]
    assert api.patch(f"/operators/{anna['id']}", {"is_active": True}).status == 200  # back at work, lead gone
    refused, missing = as_anna.get(f"/leads/{appeal['lead_id']}"), as_anna.get("/leads/ld_doesnotexist000000000000")
    assert (refused.status, missing.status) == (404, 404)
    assert set(refused.body) == set(missing.body) == {"error", "message"}
