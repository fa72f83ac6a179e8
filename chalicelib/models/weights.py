"""The weights table (an operator's weight for a source, and that pair's
assignment counters) and every query on it."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.db.tables import TableMeta, TableName

__all__ = [
    "HISTORY_PREFIX",
    "Weight",
    "WeightHistory",
    "history_key",
    "pair_rows",
    "serving_weights",
    "sources_served_by",
    "store_conversion",
    "weight_history",
]


class SourcesServedByOperator(GlobalSecondaryIndex["Weight"]):
    """Sparse: only rows with weight >= 1 carry `serving_operator_id`."""

    class Meta:
        index_name = "by_operator"
        # Keys only: rows change on every appeal, an index copy would too.
        projection = KeysOnlyProjection()

    serving_operator_id = UnicodeAttribute(hash_key=True)
    source_id = UnicodeAttribute(range_key=True)


class Weight(Model):
    """An operator's weight for a source, plus that pair's assignment counters.

    A row is never deleted: taking an operator out of a source's weight set
    sets `weight` to 0, so `assigned_total` (history) and `active_count`
    (released when the operator closes) stay exact.
    """

    class Meta(TableMeta):
        table_name = TableName("weights")

    source_id = UnicodeAttribute(hash_key=True)
    operator_id = UnicodeAttribute(range_key=True)
    weight = NumberAttribute(default=0)
    assigned_total = NumberAttribute(default=0)
    active_count = NumberAttribute(default=0)
    serving_operator_id = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    # The operator's conversion estimate for this source (posterior mean), kept by the
    # suggestion and tune jobs: score-aware draws read it with the weights, at no extra cost.
    conversion = NumberAttribute(null=True)

    by_operator = SourcesServedByOperator()


# Operator ids are `op_…` (lowercase): `~` sorts after every one of them, so the pair rows
# are the range below it and a source's weight-change records the range from it.
HISTORY_PREFIX = "~history#"
_PAIRS_BELOW = "~"


class WeightHistory(Model):
    """One change of a source's weight set, kept in the weights table under
    `~history#<at>#<id>`: what moved (JSON: operator id → [old, new]), why
    (`manual`, `suggestion`, `auto_tune: …`), when. Written in the same
    transaction as the change; never read by routing."""

    class Meta(TableMeta):
        table_name = TableName("weights")

    source_id = UnicodeAttribute(hash_key=True)
    operator_id = UnicodeAttribute(range_key=True)
    reason = UnicodeAttribute()
    changes = UnicodeAttribute()
    at = UnicodeAttribute()


def history_key(at: str, unique: str) -> str:
    return f"{HISTORY_PREFIX}{at}#{unique}"


def serving_weights(source_id: str) -> list[Weight]:
    """The source's current weight set (rows with weight 0 are history only)."""
    return list(
        Weight.query(
            source_id,
            range_key_condition=Weight.operator_id < _PAIRS_BELOW,
            filter_condition=Weight.weight >= 1,
            consistent_read=True,
        )
    )


def pair_rows(source_id: str, *, consistent: bool = False) -> list[Weight]:
    """Every (source, operator) row, weight 0 included: operators taken off a source keep their history."""
    return list(
        Weight.query(source_id, range_key_condition=Weight.operator_id < _PAIRS_BELOW, consistent_read=consistent)
    )


def store_conversion(source_id: str, operator_id: str, estimate: float) -> None:
    """Sets the pair's conversion estimate, on a row that exists (never creates one)."""
    Weight(source_id, operator_id).update(
        actions=[Weight.conversion.set(estimate)], condition=Weight.source_id.exists()
    )


def weight_history(source_id: str, limit: int) -> list[WeightHistory]:
    """The source's latest weight changes, newest first: O(limit)."""
    return list(
        WeightHistory.query(
            source_id,
            range_key_condition=WeightHistory.operator_id.startswith(HISTORY_PREFIX),
            scan_index_forward=False,
            limit=limit,
        )
    )


def sources_served_by(operator_id: str) -> list[str]:
    return [row.source_id for row in Weight.by_operator.query(operator_id)]
