"""The real engine answers and the services run on it unchanged."""

from __future__ import annotations

from chalicelib.directory import operators, sources
from chalicelib.routing import appeals
from chalicelib.schemas.appeals import AppealCreate
from chalicelib.schemas.operators import OperatorCreate
from chalicelib.schemas.sources import SourceCreate, WeightIn, WeightSet


def test_GIVEN_dynamodb_local_WHEN_an_appeal_is_closed_THEN_the_waiting_one_takes_the_slot_and_then_frees_it(
    real_tables: str,
) -> None:
    anna = operators.create_operator(OperatorCreate(name="Anna", max_load=1))
    source = sources.create_source(SourceCreate(name="Telegram Bot"))
    sources.replace_weights(source.id, WeightSet([WeightIn(operator_id=anna.id, weight=10)]))

    first = appeals.submit_appeal(AppealCreate(lead_external_id="tg:1", source_id=source.id, message="hi"))
    second = appeals.submit_appeal(AppealCreate(lead_external_id="tg:2", source_id=source.id, message="hi"))
    assert operators.get_operator(anna.id).current_load == 1
    appeals.close_appeal(first.appeal.id)

    assert first.appeal.status == "active"
    assert second.appeal.status == "waiting"
    assert appeals.get_appeal(second.appeal.id).operator.id == anna.id
    assert operators.get_operator(anna.id).current_load == 1
    appeals.close_appeal(second.appeal.id)
    assert operators.get_operator(anna.id).current_load == 0
