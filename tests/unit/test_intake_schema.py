"""The published JSON Schema is the pydantic model's, and means the same thing."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from chalicelib.schemas.intake import IntakeMessageV1, intake_json_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "chalicelib/schemas/json/intake-message.v1.json"
EXAMPLE = IntakeMessageV1.model_config["json_schema_extra"]["examples"][0]


def test_GIVEN_the_model_WHEN_comparing_with_the_published_file_THEN_they_match() -> None:
    published = json.loads(SCHEMA_FILE.read_text())

    assert published == intake_json_schema(), (
        "regenerate: python -m chalicelib.schemas.intake > chalicelib/schemas/json/intake-message.v1.json"
    )


def test_GIVEN_the_documented_example_WHEN_validated_by_both_THEN_both_accept_it() -> None:
    jsonschema.validate(EXAMPLE, json.loads(SCHEMA_FILE.read_text()))
    assert IntakeMessageV1.model_validate_json(json.dumps(EXAMPLE)).lead.external_id == "tg:100500"


@pytest.mark.parametrize(
    "change", [{"version": 2}, {"text": ""}, {"lead": {}}, {"unknown": 1}, {"message_id": "x" * 201}]
)
def test_GIVEN_a_bad_message_WHEN_validated_by_both_THEN_both_reject_it(change: dict) -> None:
    bad = {**EXAMPLE, **change}

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json.loads(SCHEMA_FILE.read_text()))
    with pytest.raises(ValueError):
        IntakeMessageV1.model_validate_json(json.dumps(bad))
