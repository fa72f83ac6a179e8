"""A source's operator weights: who serves it and how much of its appeals each gets."""

from __future__ import annotations

import json

from chalicelib.core.errors import Conflict, FieldProblem, InvalidInput, NotFound
from chalicelib.core.ids import is_well_formed, iso, new_id, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.retry import RetryPolicy, tries
from chalicelib.db.transactions import Cancelled, Transaction, commit_with_retry
from chalicelib.models.operators import Operator, operators_by_id
from chalicelib.models.sources import Source, get_source_row
from chalicelib.models.weights import Weight, WeightHistory, history_key, pair_rows, serving_weights
from chalicelib.models.weights import weight_history as history_rows
from chalicelib.routing import waiting_line
from chalicelib.routing.source_cache import source_cache
from chalicelib.schemas.sources import WeightChangeOut, WeightHistoryOut, WeightOut, WeightSet, WeightsOut

__all__ = ["MANUAL", "SUGGESTION", "get_weights", "replace_weights", "weight_history"]

# Why a weight set changed, as its history says (auto-tune adds its evidence).
MANUAL = "manual"
SUGGESTION = "suggestion"

# DynamoDB's limit of items in one TransactWriteItems.
_TRANSACTION_ITEMS = 100


def replace_weights(
    source_id: str, weight_set: WeightSet, *, policy: RetryPolicy | None = None, reason: str = MANUAL
) -> WeightsOut:
    """Replaces the source's whole weight set.

    Rows leaving the set keep their history (weight 0), so stats stay exact.
    The source's `weights_version` is bumped under a condition in the same
    transaction, so two concurrent replacements never merge: the one that
    lost re-reads and applies its whole set over the winner's. Up to 98
    changed rows commit in that one transaction (more go in further ones),
    with a history record of what moved and `reason`.
    """
    _reject_repeats(weight_set)
    wanted = {item.operator_id: item.weight for item in weight_set.root}
    operators = _operators_named(wanted)
    for _ in tries(policy):
        source = get_source_row(source_id)
        try:
            _write_weights(source, wanted, reason)
        except Cancelled as failure:
            if failure.failed("source"):
                continue
            raise
        source_cache.forget(source_id)  # this process's intake draws from the new set at once
        logger.info("source weights replaced", extra={"source_id": source_id, "operators": sorted(wanted)})
        # New or heavier weights are capacity for this source's waiting line.
        waiting_line.drain_source_after_change(source_id)
        return _weights_out(source_id, wanted, {op.operator_id: op.name for op in operators})
    raise Conflict("the weight set keeps changing under this request; retry")


def _write_weights(source: Source, wanted: dict[str, int], reason: str) -> None:
    source_id = source.source_id
    current = {row.operator_id: int(row.weight) for row in pair_rows(source_id, consistent=True)}
    now = iso(utc_now())
    version = int(source.weights_version or 0)
    first = Transaction()
    first.update(
        "source",
        Source(source_id),
        [Source.weights_version.set(version + 1)],
        condition=(Source.weights_version == version) | Source.weights_version.does_not_exist()
        if version == 0
        else Source.weights_version == version,
    )
    pending = [first]
    changes = [
        (operator_id, [Weight.weight.set(weight), Weight.serving_operator_id.set(operator_id)])
        for operator_id, weight in wanted.items()
        if current.get(operator_id) != weight
    ] + [
        (operator_id, [Weight.weight.set(0), Weight.serving_operator_id.remove()])
        for operator_id, weight in current.items()
        if weight >= 1 and operator_id not in wanted
    ]
    moved = {o: [current.get(o, 0), wanted.get(o, 0)] for o, _ in changes}
    if moved:
        record = WeightHistory(source_id, history_key(now, new_id("wh")[3:]), reason=reason, at=now)
        record.changes = json.dumps(moved, sort_keys=True)
        first.put("history", record)
    for operator_id, actions in changes:
        if len(pending[-1]) >= _TRANSACTION_ITEMS:
            pending.append(Transaction())
        pending[-1].update(operator_id, Weight(source_id, operator_id), [*actions, Weight.updated_at.set(now)])
    for chunk in pending:
        commit_with_retry(chunk)


def _reject_repeats(weight_set: WeightSet) -> None:
    seen: set[str] = set()
    problems = []
    for index, item in enumerate(weight_set.root):
        if item.operator_id in seen:
            problems.append(
                FieldProblem(("body", index, "operator_id"), "operator is listed more than once", "duplicate")
            )
        seen.add(item.operator_id)
    if problems:
        raise InvalidInput("each operator may appear once in a weight set", problems)


def _operators_named(weights: dict[str, int]) -> list[Operator]:
    well_formed = [operator_id for operator_id in weights if is_well_formed(operator_id)]
    found = list(operators_by_id(well_formed).values())
    missing = sorted(set(weights) - {operator.operator_id for operator in found})
    if missing:
        shown = ", ".join(repr(m[:64]) for m in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise NotFound(f"unknown operator(s): {shown}{more}")
    return found


def get_weights(source_id: str) -> WeightsOut:
    get_source_row(source_id)
    weights = {row.operator_id: int(row.weight) for row in serving_weights(source_id)}
    names = {op.operator_id: op.name for op in operators_by_id(list(weights)).values()}
    return _weights_out(source_id, weights, names)


def _weights_out(source_id: str, weights: dict[str, int], names: dict[str, str]) -> WeightsOut:
    total = sum(weights.values())
    items = [
        WeightOut(
            operator_id=operator_id,
            operator_name=names.get(operator_id, ""),
            weight=weight,
            share=round(weight / total, 6) if total else 0.0,
        )
        for operator_id, weight in weights.items()
    ]
    items.sort(key=lambda item: (-item.weight, item.operator_name, item.operator_id))
    return WeightsOut(source_id=source_id, items=items)


def weight_history(source_id: str, limit: int) -> WeightHistoryOut:
    """The source's latest weight changes with their reasons, newest first."""
    get_source_row(source_id)
    return WeightHistoryOut(
        source_id=source_id,
        items=[
            WeightChangeOut(at=row.at, reason=row.reason, changes=json.loads(row.changes))
            for row in history_rows(source_id, limit)
        ],
    )
