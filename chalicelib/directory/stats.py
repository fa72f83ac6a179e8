"""Distribution stats from counters kept by the transactions: cost grows with
sources and operators, never with the number of appeals."""

from __future__ import annotations

from chalicelib.db.paging import decode_cursor, encode_cursor, take_rows_page
from chalicelib.db.tables import LISTED
from chalicelib.directory.sources import get_source_row
from chalicelib.models import Operator, Source, Weight
from chalicelib.routing import draw as distribution
from chalicelib.schemas.common import Page
from chalicelib.schemas.stats import (
    OperatorAvailability,
    OperatorDistribution,
    SourceDistribution,
    SourceOperators,
)

_LIST_KEY = ("source_id", "listed", "created_at")


def _share(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def distribution_stats(limit: int, cursor: str | None) -> Page[SourceDistribution]:
    start, _ = decode_cursor(cursor, _LIST_KEY, pinned={"listed": LISTED})
    sources, last = take_rows_page(
        lambda **kw: Source.newest_first.query(LISTED, scan_index_forward=False, **kw), Source, limit, start
    )
    # Every row, weight 0 included: operators taken off a source keep their history.
    rows_by_source = {source.source_id: list(Weight.query(source.source_id)) for source in sources}
    operator_ids = {row.operator_id for rows in rows_by_source.values() for row in rows}
    names = {op.operator_id: op.name for op in Operator.batch_get(list(operator_ids))} if operator_ids else {}
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
                waiting_now=int(source.waiting_count),
                operators=operators,
            )
        )
    return Page[SourceDistribution](items=items, next=encode_cursor(last))


def source_operators(source_id: str) -> SourceOperators:
    get_source_row(source_id)
    candidates = distribution.load_candidates(source_id)
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
