"""Hostile and sloppy input: size limits, contact details, names and ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.api.http import MAX_BODY_BYTES
from chalicelib.schemas.common import Input
from chalicelib.schemas.contact import normalised_phone, without_control_characters
from tests.support import Api, appeal_body


def error_paths(reply: Any) -> list[str]:
    return [error["path"] for error in reply.body["errors"]]


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/appeals"), ("POST", "/operators"), ("PATCH", "/leads/ld_0000000000000000000000ff")]
)
def test_GIVEN_a_body_above_64_kb_WHEN_sent_to_any_route_THEN_413_before_parsing(
    api: Api, method: str, path: str
) -> None:
    body = json.dumps({"name": "x" * MAX_BODY_BYTES})

    reply = api.call(method, path, raw=body)

    assert reply.status == 413
    assert reply.body["error"] == "payload_too_large"


def test_GIVEN_a_body_just_under_the_limit_WHEN_sent_THEN_it_is_judged_on_its_content(api: Api) -> None:
    source = api.source()
    body = appeal_body(source["id"], message="x" * 9_000)

    assert api.post("/appeals", body).status == 201


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("+7 (999) 000-11-22", "+79990001122"),
        ("+49 151 12345678", "+4915112345678"),
        ("+1-202-555-0143", "+12025550143"),
    ],
)
def test_GIVEN_a_phone_in_any_international_spelling_WHEN_a_lead_is_created_THEN_it_is_stored_as_e164(
    api: Api, given: str, stored: str
) -> None:
    appeal = api.appeal(api.source()["id"], lead_phone=given)

    assert api.get(f"/leads/{appeal['lead_id']}").body["phone"] == stored


@pytest.mark.parametrize("phone", ["12345", "8 999 000 11 22", "+7 000", "call me maybe", "+999 1234567"])
def test_GIVEN_a_phone_that_is_not_a_number_WHEN_sent_THEN_422_on_that_field_and_no_lead(api: Api, phone: str) -> None:
    source = api.source()

    reply = api.post("/appeals", appeal_body(source["id"], lead_phone=phone))
    patch = api.patch(f"/leads/{api.appeal(source['id'])['lead_id']}", {"phone": phone})

    assert reply.status == 422 and error_paths(reply) == ["body.lead_phone"]
    assert patch.status == 422 and error_paths(patch) == ["body.phone"]
    assert len(api.get("/leads").body["items"]) == 1


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "ivan@@example.com", "ivan@example..com", "@example.com"])
def test_GIVEN_an_invalid_email_WHEN_sent_THEN_422_on_that_field(api: Api, email: str) -> None:
    reply = api.post("/appeals", appeal_body(api.source()["id"], lead_email=email))

    assert reply.status == 422 and error_paths(reply) == ["body.lead_email"]


def test_GIVEN_an_email_with_a_capitalised_domain_WHEN_stored_THEN_the_domain_is_normalised(api: Api) -> None:
    appeal = api.appeal(api.source()["id"], lead_email=" Ivan@Example.COM ")

    assert api.get(f"/leads/{appeal['lead_id']}").body["email"] == "Ivan@example.com"


@pytest.mark.parametrize("name", ["Anna\x00", "\x1b[31mAnna", "An\x07na", "Anna\x7f"])
def test_GIVEN_a_name_with_control_characters_WHEN_sent_THEN_422(api: Api, name: str) -> None:
    operator = api.post("/operators", {"name": name})
    lead = api.post("/appeals", appeal_body(api.source()["id"], lead_name=name))

    assert operator.status == 422 and error_paths(operator) == ["body.name"]
    assert lead.status == 422 and error_paths(lead) == ["body.lead_name"]


@pytest.mark.parametrize(
    "name",
    [
        "Anna\u202eavoN",  # right-to-left override: reads "Anna Nova" backwards
        "An\u200bna",  # zero-width space
        "Anna\u2066x\u2069",  # bidi isolate
        "\ufeffAnna",  # byte order mark
        "Anna\u200d",  # zero-width joiner
        "Anna\u2028Nova",  # line separator
    ],
)
def test_GIVEN_a_name_with_bidi_or_zero_width_characters_WHEN_sent_THEN_422_on_that_field(api: Api, name: str) -> None:
    operator = api.post("/operators", {"name": name})
    source = api.post("/sources", {"name": name})
    lead = api.post("/appeals", appeal_body(api.source()["id"], lead_name=name))

    assert [r.status for r in (operator, source, lead)] == [422, 422, 422]
    assert error_paths(lead) == ["body.lead_name"]


def test_GIVEN_a_telegram_name_with_format_characters_WHEN_mapped_THEN_they_are_dropped_not_the_message() -> None:
    assert without_control_characters("Iv\u202ean\u200b") == "Ivan"


def test_GIVEN_a_name_with_a_newline_or_tab_WHEN_sent_THEN_it_is_kept(api: Api) -> None:
    assert api.post("/operators", {"name": "Anna\tB.\nSupport"}).status == 201


@pytest.mark.parametrize("external_id", ["tg 1", "tg:1<script>", "wa:7999/../x", "тг:1", "id\x00", "a" * 201])
def test_GIVEN_an_external_id_outside_the_character_set_WHEN_sent_THEN_422(api: Api, external_id: str) -> None:
    reply = api.post("/appeals", appeal_body(api.source()["id"], lead_external_id=external_id))

    assert reply.status == 422 and error_paths(reply) == ["body.lead_external_id"]


@pytest.mark.parametrize("external_id", ["tg:100500", "wa:+79990001122", "web:ivan@example.com", "crm-42_a.b"])
def test_GIVEN_an_external_id_in_the_character_set_WHEN_sent_THEN_accepted(api: Api, external_id: str) -> None:
    assert api.post("/appeals", appeal_body(api.source()["id"], lead_external_id=external_id)).status == 201


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("79990001122", "+79990001122"), ("+79990001122", "+79990001122"), ("12", None), ("", None), (None, None)],
)
def test_GIVEN_a_phone_a_channel_passes_along_WHEN_normalised_THEN_e164_or_dropped(
    raw: str | None, expected: str | None
) -> None:
    assert normalised_phone(raw) == expected


def _string_fields_without_a_cap(schema: dict[str, Any], defs: dict[str, Any], path: str) -> list[str]:
    if "$ref" in schema:
        return _string_fields_without_a_cap(defs[schema["$ref"].split("/")[-1]], defs, path)
    found = []
    for branch in schema.get("anyOf", []) + schema.get("allOf", []):
        found += _string_fields_without_a_cap(branch, defs, path)
    # Formats (date-time) are parsed, and so bounded, by pydantic.
    if schema.get("type") == "string" and not {"maxLength", "enum", "format"} & schema.keys():
        found.append(path)
    for name, sub in schema.get("properties", {}).items():
        found += _string_fields_without_a_cap(sub, defs, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        found += _string_fields_without_a_cap(schema["items"], defs, f"{path}[]")
    return found


def _all_inputs(base: type = Input) -> list[type]:
    return [cls for sub in base.__subclasses__() for cls in (sub, *_all_inputs(sub))]


def test_GIVEN_every_request_body_model_WHEN_reading_its_schema_THEN_every_string_has_a_length_cap() -> None:
    import app  # noqa: F401 - registers every route, so every body model is defined

    uncapped = []
    for model in _all_inputs():
        schema = model.model_json_schema()
        uncapped += _string_fields_without_a_cap(schema, schema.get("$defs", {}), model.__name__)

    assert uncapped == []
