from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.models.base import TableMeta, TableName


class LeadsNewestFirst(GlobalSecondaryIndex["Lead"]):
    class Meta:
        index_name = "newest_first"
        # Keys only: rows change on every appeal, an index copy would too.
        projection = KeysOnlyProjection()

    listed = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Lead(Model):
    """A person. `lead_id` is derived from `external_id`, so get-or-create is
    one upsert and two racing first appeals cannot make two leads."""

    class Meta(TableMeta):
        table_name = TableName("leads")

    lead_id = UnicodeAttribute(hash_key=True)
    external_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    appeals_count = NumberAttribute(default=0)
    # Who was last handed one of this lead's appeals (any source): sticky
    # routing offers the next appeal to them first. Set by the same
    # transaction that assigns.
    last_operator_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    listed = UnicodeAttribute()

    newest_first = LeadsNewestFirst()
