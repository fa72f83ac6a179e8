"""Distribution stats from counters: cost grows with sources and operators,
never with the number of appeals. Per-operator figures move in the assignment
transactions; a source's totals are aggregated from the appeals stream, so
each source says how fresh they are (`as_of`)."""

from __future__ import annotations

from chalicelib.models.operators import operators_by_id
from chalicelib.models.sources import get_source_row, sources_newest_first
from chalicelib.models.weights import pair_rows
from chalicelib.routing.capacity import load_candidates
from chalicelib.schemas.common import Page
from chalicelib.schemas.stats import (
    OperatorAvailability,
    OperatorDistribution,
    SourceDistribution,
    SourceOperators,
)

__all__ = ["distribution_stats", "source_operators"]


def _share(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def distribution_stats(limit: int, cursor: str | None) -> Page[SourceDistribution]:
    sources, following = sources_newest_first(limit, cursor)
    # Every row, weight 0 included: operators taken off a source keep their history.
    rows_by_source = {source.source_id: pair_rows(source.source_id) for source in sources}
    operator_ids = {row.operator_id for rows in rows_by_source.values() for row in rows}
    names = {op.operator_id: op.name for op in operators_by_id(list(operator_ids)).values()}
    items = []
    for source in sources:
        rows = [row for row in rows_by_source[source.source_id] if row.weight >= 1 or row.assigned_total >= 1]
        weight_sum = sum(int(row.weight) for row in rows)
        assigned_sum = sum(int(row.assigned_total) for row in rows)
        operators = [
            OperatorDistribution(
                id=row.operator_id,
                name=names.get(row.operator_id, ""),
                weight=int(row.weight),
                target_share=_share(int(row.weight), weight_sum),
                assigned_total=int(row.assigned_total),
                actual_share=_share(int(row.assigned_total), assigned_sum),
                active_now=int(row.active_count),
            )
            for row in rows
        ]
        operators.sort(key=lambda op: (-op.weight, op.name, op.id))
        items.append(
            SourceDistribution(
                source_id=source.source_id,
                name=source.name,
                strategy=source.strategy,
                total_appeals=int(source.appeals_total),
                waiting_now=max(int(source.waiting_count), 0),
                as_of=source.aggregates_as_of,
                operators=operators,
            )
        )
    return Page[SourceDistribution](items=items, next=following)


def source_operators(source_id: str) -> SourceOperators:
    get_source_row(source_id)
    candidates = load_candidates(source_id)
    return SourceOperators(
        source_id=source_id,
        operators=[
            OperatorAvailability(
                id=c.operator_id,
                name=c.name,
                weight=c.weight,
                is_active=c.is_active,
                current_load=c.active_load,
                max_load=c.max_load,
                is_available=c.is_available,
            )
            for c in sorted(candidates, key=lambda c: (-c.weight, c.name, c.operator_id))
        ],
    )
