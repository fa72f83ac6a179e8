"""Weight suggestions from conversion, applying them, and the daily tune job.

Conversion: of an operator's appeals among the source's last N, those whose
lead has reached `transferred` (one BatchGetItem per 100 leads). Posteriors
and the suggestion rule are `chalicelib.insight.conversion` and
`chalicelib.insight.suggestions`; this module reads the history and writes
through the weights service, so every change lands in the weights' history.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from chalicelib.core.observability import logger
from chalicelib.directory.weights import SUGGESTION, replace_weights
from chalicelib.insight.conversion import Outcomes, posteriors
from chalicelib.insight.history import recent_appeals
from chalicelib.insight.suggestions import Suggestion, auto_tune, suggest_weights
from chalicelib.models.leads import TRANSFERRED, lead_outcomes
from chalicelib.models.operators import operators_by_id
from chalicelib.models.sources import all_sources, get_source_row
from chalicelib.models.weights import serving_weights, store_conversion
from chalicelib.routing.source_cache import source_cache
from chalicelib.schemas.insight import (
    DEFAULT_SIMULATED_APPEALS,
    OperatorConversion,
    SuggestionsApplied,
    SuggestionsOut,
)
from chalicelib.schemas.jobs import TuneReport
from chalicelib.schemas.sources import WeightIn, WeightSet

__all__ = ["apply_suggestions", "get_suggestions", "run_tuning"]


@dataclass(frozen=True)
class _Advice:
    appeals: int
    weights: dict[str, int]  # the source's current weight set
    suggestions: list[Suggestion]
    paid: Counter[str]  # appeals whose lead's deal reached `paid`, by operator


def _advise(source_id: str, n: int) -> _Advice:
    weights = {row.operator_id: int(row.weight) for row in serving_weights(source_id)}
    history = recent_appeals(source_id, n)
    outcomes = lead_outcomes([recent.lead_id for recent in history])
    appeals: Counter[str] = Counter(recent.operator_id for recent in history)
    converted: Counter[str] = Counter(
        recent.operator_id for recent in history if outcomes.get(recent.lead_id, ("", False))[0] == TRANSFERRED
    )
    paid: Counter[str] = Counter(
        recent.operator_id for recent in history if outcomes.get(recent.lead_id, ("", False))[1]
    )
    names = {o: op.name for o, op in operators_by_id(list(weights)).items()}
    # The prior pools everyone who served these appeals, including operators since taken off.
    everyone = [Outcomes(o, names.get(o, o), appeals[o], converted[o]) for o in sorted(set(appeals) | set(weights))]
    estimated = {p.operator_id: p for p in posteriors(everyone)}
    serving = [estimated[o] for o in weights]
    return _Advice(len(history), weights, suggest_weights(serving), paid)


def get_suggestions(source_id: str, n: int = DEFAULT_SIMULATED_APPEALS) -> SuggestionsOut:
    source = get_source_row(source_id)
    advice = _advise(source_id, n)
    return SuggestionsOut(
        source_id=source_id,
        appeals=advice.appeals,
        auto_tune=bool(source.auto_tune),
        operators=[
            OperatorConversion(
                operator_id=s.operator_id,
                operator_name=s.posterior.name,
                current_weight=advice.weights[s.operator_id],
                suggested_weight=s.weight,
                appeals=s.posterior.appeals,
                conversions=s.posterior.conversions,
                paid=advice.paid[s.operator_id],
                conversion_mean=round(s.posterior.mean, 4),
                conversion_low=round(s.posterior.low, 4),
                conversion_high=round(s.posterior.high, 4),
                p_best=round(s.p_best, 4),
                evidence=s.evidence,
            )
            for s in sorted(advice.suggestions, key=lambda s: (-s.weight, s.operator_id))
        ],
    )


def apply_suggestions(source_id: str, n: int = DEFAULT_SIMULATED_APPEALS) -> SuggestionsApplied:
    """The suggested set, through the weights service (its history says `suggestion`)."""
    get_source_row(source_id)
    advice = _advise(source_id, n)
    suggested = {s.operator_id: s.weight for s in advice.suggestions}
    _store(source_id, advice)
    if suggested:
        replace_weights(source_id, _weight_set(suggested), reason=SUGGESTION)
    changed = sum(1 for o, w in suggested.items() if advice.weights.get(o) != w)
    return SuggestionsApplied(source_id=source_id, reason=SUGGESTION, weights=suggested, changed=changed)


def _weight_set(weights: dict[str, int]) -> WeightSet:
    return WeightSet([WeightIn(operator_id=o, weight=w) for o, w in weights.items()])


def _store(source_id: str, advice: _Advice) -> None:
    """Each operator's conversion estimate on its weight row: score-aware draws read it there, for free."""
    for s in advice.suggestions:
        store_conversion(source_id, s.operator_id, round(s.posterior.mean, 6))
    source_cache.forget(source_id)  # this process's intake draws with them at once (others within seconds)


def run_tuning(n: int = DEFAULT_SIMULATED_APPEALS) -> TuneReport:
    """The daily job: for sources with `auto_tune`, one bounded step toward the
    suggestions (reason and evidence in the weights' history); for those with
    `auto_tune` or `score_aware`, fresh conversion estimates on the weight rows.
    Sources come from the listing index (a Query), never a Scan."""
    tuned = refreshed = changes = 0
    for source in all_sources():
        if not (source.auto_tune or source.score_aware):
            continue
        advice = _advise(source.source_id, n)
        _store(source.source_id, advice)
        refreshed += 1
        if not source.auto_tune or not advice.weights:
            continue
        step = auto_tune(
            advice.weights,
            {s.operator_id: s.weight for s in advice.suggestions},
            evidence={s.operator_id: s.evidence for s in advice.suggestions},
        )
        if not step.changes:
            continue
        reason = "auto_tune: " + "; ".join(f"{c.operator_id} {c.reason}" for c in step.changes)
        replace_weights(source.source_id, _weight_set(dict(step.weights)), reason=reason[:2000])
        tuned += 1
        changes += len(step.changes)
        logger.info("weights auto-tuned", extra={"source_id": source.source_id, "changes": len(step.changes)})
    return TuneReport(sources_refreshed=refreshed, sources_tuned=tuned, weights_changed=changes)
