"""POST /sources/{id}/simulate: the source's last N appeals replayed in memory
against a proposed weight set, next to what actually happened. Reads only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import FieldProblem, InvalidInput
from chalicelib.core.ids import is_well_formed
from chalicelib.insight.history import recent_appeals
from chalicelib.insight.replay import OperatorOutcome, OperatorSetup, ReplayConfig, ReplayResult, recorded, replay
from chalicelib.models.operators import operators_by_id
from chalicelib.models.sources import Strategy, get_source_row
from chalicelib.schemas.insight import SimulatedOperator, SimulationOut, SimulationSummary

if TYPE_CHECKING:
    from chalicelib.schemas.insight import SimulationRequest

__all__ = ["simulate"]


def simulate(source_id: str, request: SimulationRequest) -> SimulationOut:
    source = get_source_row(source_id)
    named = [*request.weights, *(o for o in request.capacities if o not in request.weights)]
    known = operators_by_id([o for o in named if is_well_formed(o)])
    problems = [
        FieldProblem(("body", "weights" if o in request.weights else "capacities", o), "unknown operator", "unknown")
        for o in named
        if o not in known
    ]
    if problems:
        raise InvalidInput("the proposed set names operators that do not exist", problems)
    strategy = request.strategy or Strategy(source.strategy)
    sla = request.sla_seconds if request.sla_seconds is not None else source.response_sla_seconds
    setups = tuple(
        OperatorSetup(
            operator_id,
            weight,
            request.capacities.get(operator_id, int(known[operator_id].max_load)),
            name=known[operator_id].name,
        )
        for operator_id, weight in request.weights.items()
    )
    history = [recent.past for recent in recent_appeals(source_id, request.n)]
    predicted = replay(history, ReplayConfig(setups, strategy, sla, seed=request.seed))
    recorded_ids = sorted({p.recorded_operator_id for p in history if p.recorded_operator_id} - set(request.weights))
    everyone = [*request.weights, *recorded_ids]
    actual = recorded(history, everyone, sla)
    names = {**{o: op.name for o, op in operators_by_id(recorded_ids).items()}, **{o: known[o].name for o in known}}
    return SimulationOut(
        source_id=source_id,
        strategy=strategy,
        seed=request.seed,
        appeals=len(history),
        predicted=_summary(predicted),
        recorded=_summary(actual),
        operators=[_operator(o, names.get(o, ""), request.weights.get(o, 0), predicted, actual) for o in everyone],
    )


def _summary(result: ReplayResult) -> SimulationSummary:
    return SimulationSummary(
        appeals=result.appeals,
        assigned=result.assigned,
        never_assigned=result.never_assigned,
        waited=result.waited,
        mean_wait_seconds=_rounded(result.mean_wait),
        p90_wait_seconds=_rounded(result.p90_wait),
        sla_lapses=result.sla_lapses,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


_NOBODY = OperatorOutcome("", 0, 0.0, 0.0, 0)


def _operator(
    operator_id: str, name: str, weight: int, predicted: ReplayResult, actual: ReplayResult
) -> SimulatedOperator:
    ours = next((o for o in predicted.operators if o.operator_id == operator_id), _NOBODY)
    theirs = next((o for o in actual.operators if o.operator_id == operator_id), _NOBODY)
    return SimulatedOperator(
        operator_id=operator_id,
        operator_name=name,
        proposed_weight=weight,
        predicted_share=round(ours.share, 4),
        predicted_assigned=ours.assigned,
        predicted_mean_load=round(ours.mean_load, 4),
        predicted_max_load=ours.max_load,
        recorded_share=round(theirs.share, 4),
        recorded_assigned=theirs.assigned,
        recorded_mean_load=round(theirs.mean_load, 4),
        recorded_max_load=theirs.max_load,
    )
