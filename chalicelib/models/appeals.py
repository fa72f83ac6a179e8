from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.db.tables import TableMeta, TableName

WAITING = "waiting"
ACTIVE = "active"
CLOSED = "closed"

# Segments of a source's waiting line (the `waiting_key` prefix): drains read
# `queued#` oldest first; escalated appeals wait for a human in their own segment.
QUEUED_SEGMENT = "queued"
ESCALATED_SEGMENT = "escalated"

# What the indexes copy (INCLUDE, not ALL): never the event history, which
# grows with every decision and would be rewritten into each index copy.
# DynamoDB allows 20 projected attributes per index and 100 per table.
# Listings answer AppealOut straight from the index:
LISTING_ATTRIBUTES = (
    "lead_id",
    "lead_external_id",
    "source_id",
    "message",
    "message_id",
    "status",
    "created_at",
    "assigned_at",
    "accepted_at",
    "closed_at",
    "operator_id",
    "operator_name",
    "sla_due_at",
    "reassign_count",
    "escalated",
    "message_count",
    "last_message_at",
    # Redistribution reclaims from the operator listing: who may not get it again.
    "lapsed_operator_ids",
)
# Drains and reclaims read only what they need to move an appeal:
WORK_ATTRIBUTES = (
    "lead_id",
    "source_id",
    "status",
    "created_at",
    "operator_id",
    "accepted_at",
    "waiting_key",
    "sla_due_at",
    "reassign_count",
    "lapsed_operator_ids",
)


def include_projection(attributes: tuple[str, ...], *index_keys: str) -> IncludeProjection:
    # An index's own keys are projected anyway; naming them again counts against the limits.
    return IncludeProjection([name for name in attributes if name not in index_keys])


class AppealsByLead(GlobalSecondaryIndex["Appeal"]):
    class Meta:
        index_name = "by_lead"
        projection = include_projection(LISTING_ATTRIBUTES, "lead_id", "created_at")

    lead_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AppealsByOperator(GlobalSecondaryIndex["Appeal"]):
    """Operator's appeals by status then time: `active#<created_at>#<id>`.

    Listing an operator's active appeals (and auditing its counter) reads
    O(active) rows, never its history.
    """

    class Meta:
        index_name = "by_operator"
        projection = include_projection(LISTING_ATTRIBUTES, "operator_id", "operator_status_key")

    operator_id = UnicodeAttribute(hash_key=True)
    operator_status_key = UnicodeAttribute(range_key=True)


class WaitingAppealsBySource(GlobalSecondaryIndex["Appeal"]):
    """Sparse: only waiting appeals carry `waiting_source_id`, so draining a
    source's line oldest first costs O(waiting), never O(history).

    `waiting_key` is `queued#<since>#<id>` or `escalated#<since>#<id>`."""

    class Meta:
        index_name = "waiting_by_source"
        projection = include_projection(WORK_ATTRIBUTES, "waiting_source_id", "waiting_key")

    waiting_source_id = UnicodeAttribute(hash_key=True)
    waiting_key = UnicodeAttribute(range_key=True)


class AwaitingAcceptBySource(GlobalSecondaryIndex["Appeal"]):
    """Sparse: only active, not yet accepted appeals of a source with a
    response SLA carry `sla_source_id`; `sla_due_at` is `<deadline>#<id>`, so
    the lapsed ones are one range query, O(lapsed)."""

    class Meta:
        index_name = "awaiting_accept"
        projection = include_projection(WORK_ATTRIBUTES, "sla_source_id", "sla_due_at")

    sla_source_id = UnicodeAttribute(hash_key=True)
    sla_due_at = UnicodeAttribute(range_key=True)


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
    accepted_at = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    # Denormalised at assignment so reading an appeal costs one GetItem.
    operator_id = UnicodeAttribute(null=True)
    operator_name = UnicodeAttribute(null=True)
    operator_status_key = UnicodeAttribute(null=True)
    waiting_source_id = UnicodeAttribute(null=True)
    waiting_key = UnicodeAttribute(null=True)
    sla_source_id = UnicodeAttribute(null=True)
    sla_due_at = UnicodeAttribute(null=True)
    reassign_count = NumberAttribute(default=0)
    escalated = BooleanAttribute(null=True)
    # Operators who let this appeal lapse past the SLA: never offered it again.
    lapsed_operator_ids = UnicodeSetAttribute(null=True)
    message_count = NumberAttribute(default=1)
    last_message_at = UnicodeAttribute(null=True)
    # Hashes of message ids attached to this open appeal, so a redelivered
    # message is not counted twice.
    attached_message_hashes = UnicodeSetAttribute(null=True)
    # JSON events (created, assigned with its decision record, accepted, ...),
    # appended in the same write that changes the state they describe.
    events = ListAttribute(of=UnicodeAttribute, null=True)

    by_lead = AppealsByLead()
    by_operator = AppealsByOperator()
    waiting_by_source = WaitingAppealsBySource()
    awaiting_accept = AwaitingAcceptBySource()


class OpenAppealMarker(Model):
    """Which appeal is open for a (lead, source) pair, kept in the appeals table.

    Its key is `open#<lead_id>#<source_id>`; it carries none of the index
    keys, so no index sees it. Intake on a sticky source writes it under a
    condition (absent, or naming an appeal that has since closed), so two
    messages racing from one person open one appeal, not two.
    """

    class Meta(TableMeta):
        table_name = TableName("appeals")

    appeal_id = UnicodeAttribute(hash_key=True)
    open_appeal_id = UnicodeAttribute()


def open_marker_key(lead_id: str, source_id: str) -> str:
    return f"open#{lead_id}#{source_id}"


def operator_status_key(status: str, created_at: str, appeal_id: str) -> str:
    return f"{status}#{created_at}#{appeal_id}"


def waiting_key(segment: str, since: str, appeal_id: str) -> str:
    return f"{segment}#{since}#{appeal_id}"
