"""Sources (channel bots) and their operator weights."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.access.secrets import hash_secret
from chalicelib.core.errors import Conflict, FieldProblem, InvalidInput, NotFound
from chalicelib.core.ids import is_well_formed, iso, new_id, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.paging import decode_cursor, encode_cursor, take_rows_page
from chalicelib.db.tables import LISTED
from chalicelib.db.transactions import Cancelled, Transaction, commit_with_retry, update_existing
from chalicelib.models import Operator, Source, Weight
from chalicelib.routing import waiting_line
from chalicelib.schemas.common import Page
from chalicelib.schemas.sources import SourceCreate, SourceOut, SourcePatch, WeightOut, WeightSet, WeightsOut

_LIST_KEY = ("source_id", "listed", "created_at")
# DynamoDB's limit of items in one TransactWriteItems.
_TRANSACTION_ITEMS = 100


def to_out(row: Source) -> SourceOut:
    return SourceOut(
        id=row.source_id,
        name=row.name,
        description=row.description,
        strategy=row.strategy,
        response_sla_seconds=None if row.response_sla_seconds is None else int(row.response_sla_seconds),
        sticky=bool(row.sticky),
        lead_points=float(row.lead_points or 0),
        telegram_webhook_enabled=bool(row.telegram_secret_hash),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get_source_row(source_id: str) -> Source:
    if not is_well_formed(source_id):
        raise NotFound.entity("source", source_id)
    try:
        # Consistent: a bot or webhook right after the source was created or
        # its secret set must see it.
        return Source.get(source_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound.entity("source", source_id) from None


def get_source(source_id: str) -> SourceOut:
    return to_out(get_source_row(source_id))


def create_source(request: SourceCreate) -> SourceOut:
    now = iso(utc_now())
    row = Source(
        new_id("src"),
        name=request.name,
        description=request.description,
        strategy=request.strategy.value,
        response_sla_seconds=request.response_sla_seconds,
        sticky=request.sticky,
        lead_points=request.lead_points,
        created_at=now,
        updated_at=now,
        listed=LISTED,
    )
    row.save(condition=Source.source_id.does_not_exist())
    return to_out(row)


def list_sources(limit: int, cursor: str | None) -> Page[SourceOut]:
    start, _ = decode_cursor(cursor, _LIST_KEY, pinned={"listed": LISTED})
    rows, last = take_rows_page(
        lambda **kw: Source.newest_first.query(LISTED, scan_index_forward=False, **kw), Source, limit, start
    )
    return Page[SourceOut](items=[to_out(row) for row in rows], next=encode_cursor(last))


def update_source(source_id: str, patch: SourcePatch) -> SourceOut:
    if not is_well_formed(source_id):
        raise NotFound.entity("source", source_id)
    changes = patch.changes()
    if "strategy" in changes:
        changes["strategy"] = changes["strategy"].value
    if "telegram_secret_token" in changes:
        token = changes.pop("telegram_secret_token")
        changes["telegram_secret_hash"] = hash_secret(token) if token is not None else None
    actions = [
        getattr(Source, name).set(value) if value is not None else getattr(Source, name).remove()
        for name, value in changes.items()
    ]
    actions.append(Source.updated_at.set(iso(utc_now())))
    row = Source(source_id)
    update_existing(row, actions, "source")
    return to_out(row)


def replace_weights(source_id: str, weight_set: WeightSet, *, attempts: int = 5) -> WeightsOut:
    """Replaces the source's whole weight set.

    Rows leaving the set keep their history (weight 0), so stats stay exact.
    The source's `weights_version` is bumped under a condition in the same
    transaction, so two concurrent replacements never merge: the one that
    lost re-reads and applies its whole set over the winner's. Up to 99
    changed rows commit in that one transaction (more go in further ones).
    """
    _reject_repeats(weight_set)
    wanted = {item.operator_id: item.weight for item in weight_set.root}
    operators = _operators_named(wanted)
    for _ in range(attempts):
        source = get_source_row(source_id)
        try:
            _write_weights(source, wanted)
        except Cancelled as failure:
            if failure.failed("source"):
                continue
            raise
        logger.info("source weights replaced", extra={"source_id": source_id, "operators": sorted(wanted)})
        # New or heavier weights are capacity for this source's waiting line.
        waiting_line.drain_source_after_change(source_id)
        return _weights_out(source_id, wanted, {op.operator_id: op.name for op in operators})
    raise Conflict("the weight set keeps changing under this request; retry")


def _write_weights(source: Source, wanted: dict[str, int]) -> None:
    source_id = source.source_id
    current = {row.operator_id: int(row.weight) for row in Weight.query(source_id, consistent_read=True)}
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
    found = list(Operator.batch_get(well_formed)) if well_formed else []
    missing = sorted(set(weights) - {operator.operator_id for operator in found})
    if missing:
        shown = ", ".join(repr(m[:64]) for m in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise NotFound(f"unknown operator(s): {shown}{more}")
    return found


def get_weights(source_id: str) -> WeightsOut:
    get_source_row(source_id)
    rows = list(Weight.query(source_id, filter_condition=Weight.weight >= 1, consistent_read=True))
    weights = {row.operator_id: int(row.weight) for row in rows}
    names = {op.operator_id: op.name for op in Operator.batch_get(list(weights))} if weights else {}
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
