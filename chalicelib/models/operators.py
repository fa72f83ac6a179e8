from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.db.tables import TableMeta, TableName


class OperatorsNewestFirst(GlobalSecondaryIndex["Operator"]):
    class Meta:
        index_name = "newest_first"
        # Keys only: rows change on every appeal, an index copy would too.
        projection = KeysOnlyProjection()

    listed = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Operator(Model):
    """An operator; `active_load` is the atomic load counter.

    Invariant: `active_load` equals the number of this operator's appeals in
    status `active`. It only ever moves inside a transaction that moves an
    appeal too.
    """

    class Meta(TableMeta):
        table_name = TableName("operators")

    operator_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    is_active = BooleanAttribute()
    max_load = NumberAttribute()
    active_load = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    listed = UnicodeAttribute()

    newest_first = OperatorsNewestFirst()
