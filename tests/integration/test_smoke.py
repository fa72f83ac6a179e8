"""The real engine answers and the services run on it unchanged."""

from __future__ import annotations

from chalicelib.access.principal import SYSTEM
from chalicelib.directory import operators, sources
from chalicelib.directory.weights import replace_weights
from chalicelib.routing import appeals
from chalicelib.routing.intake import submit_appeal
from chalicelib.schemas.appeals import AppealCreate
from chalicelib.schemas.operators import OperatorCreate
from chalicelib.schemas.sources import SourceCreate, WeightIn, WeightSet


def test_GIVEN_dynamodb_local_WHEN_an_appeal_is_closed_THEN_the_waiting_one_takes_the_slot_and_then_frees_it(
    real_tables: str,
) -> None:
    anna = operators.create_operator(OperatorCreate(name="Anna", max_load=1))
    source = sources.create_source(SourceCreate(name="Telegram Bot"))
    replace_weights(source.id, WeightSet([WeightIn(operator_id=anna.id, weight=10)]))

    first = submit_appeal(AppealCreate(lead_external_id="tg:1", source_id=source.id, message="hi"), viewer=SYSTEM)
    second = submit_appeal(AppealCreate(lead_external_id="tg:2", source_id=source.id, message="hi"), viewer=SYSTEM)
    assert operators.get_operator(anna.id).current_load == 1
    appeals.close_appeal(first.appeal.id, viewer=SYSTEM)

    assert first.appeal.status == "active"
    assert second.appeal.status == "waiting"
    assert appeals.get_appeal(second.appeal.id, viewer=SYSTEM).operator.id == anna.id
    assert operators.get_operator(anna.id).current_load == 1
    appeals.close_appeal(second.appeal.id, viewer=SYSTEM)
    assert operators.get_operator(anna.id).current_load == 0
