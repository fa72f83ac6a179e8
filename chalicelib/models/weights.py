"""The weights table (an operator's weight for a source, and that pair's
assignment counters) and every query on it."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.db.tables import TableMeta, TableName

__all__ = ["Weight", "pair_rows", "serving_weights", "sources_served_by"]


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

    by_operator = SourcesServedByOperator()


def serving_weights(source_id: str) -> list[Weight]:
    """The source's current weight set (rows with weight 0 are history only)."""
    return list(Weight.query(source_id, filter_condition=Weight.weight >= 1, consistent_read=True))


def pair_rows(source_id: str, *, consistent: bool = False) -> list[Weight]:
    """Every (source, operator) row, weight 0 included: operators taken off a source keep their history."""
    return list(Weight.query(source_id, consistent_read=consistent))


def sources_served_by(operator_id: str) -> list[str]:
    return [row.source_id for row in Weight.by_operator.query(operator_id)]
