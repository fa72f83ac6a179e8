from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.models.base import TableMeta, TableName

WAITING = "waiting"
ACTIVE = "active"
CLOSED = "closed"


class AppealsByLead(GlobalSecondaryIndex["Appeal"]):
    class Meta:
        index_name = "by_lead"
        projection = AllProjection()

    lead_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AppealsByOperator(GlobalSecondaryIndex["Appeal"]):
    """Operator's appeals by status then time: `active#<created_at>`.

    Listing an operator's active appeals (and auditing its counter) reads
    O(active) rows, never its history.
    """

    class Meta:
        index_name = "by_operator"
        projection = AllProjection()

    operator_id = UnicodeAttribute(hash_key=True)
    operator_status_key = UnicodeAttribute(range_key=True)


class WaitingAppealsBySource(GlobalSecondaryIndex["Appeal"]):
    """Sparse: only waiting appeals carry `waiting_source_id`, so draining a
    source's line oldest first costs O(waiting), never O(history)."""

    class Meta:
        index_name = "waiting_by_source"
        projection = AllProjection()

    waiting_source_id = UnicodeAttribute(hash_key=True)
    waiting_since = UnicodeAttribute(range_key=True)


class Appeal(Model):
    class Meta(TableMeta):
        table_name = TableName("appeals")

    appeal_id = UnicodeAttribute(hash_key=True)
    lead_id = UnicodeAttribute()
    lead_external_id = UnicodeAttribute()
    source_id = UnicodeAttribute()
    message = UnicodeAttribute()
    message_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    assigned_at = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    # Denormalised at assignment so reading an appeal costs one GetItem.
    operator_id = UnicodeAttribute(null=True)
    operator_name = UnicodeAttribute(null=True)
    operator_status_key = UnicodeAttribute(null=True)
    waiting_source_id = UnicodeAttribute(null=True)
    waiting_since = UnicodeAttribute(null=True)

    by_lead = AppealsByLead()
    by_operator = AppealsByOperator()
    waiting_by_source = WaitingAppealsBySource()


def operator_status_key(status: str, created_at: str, appeal_id: str) -> str:
    return f"{status}#{created_at}#{appeal_id}"
