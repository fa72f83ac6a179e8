"""The appeals table: appeals, open-appeal markers, their indexes, the words
stored in them (statuses, line segments, event types, triggers, reasons) and
every query on them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.db.paging import Key, take_page, take_rows_page
from chalicelib.db.rows import get_row
from chalicelib.db.tables import TableMeta, TableName, Word

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = [
    "ACTIVE",
    "APPEAL_ID_PREFIX",
    "CLOSED",
    "ESCALATED_SEGMENT",
    "FOLLOWUP_QUEUE",
    "QUEUED_SEGMENT",
    "WAITING",
    "Appeal",
    "AppealNoteLink",
    "AppealStatus",
    "EventType",
    "LeadMembership",
    "MessageAlias",
    "OpenAppealMarker",
    "Reason",
    "Segment",
    "Trigger",
    "appeal_for_message",
    "appeal_note_key",
    "appeal_note_links",
    "appeals_created_between",
    "count_active",
    "followup_due",
    "get_appeal_row",
    "lapsed_appeals",
    "lead_appeals_page",
    "line_is_empty",
    "line_rows_page",
    "line_size",
    "line_work_page",
    "member_key",
    "member_sources",
    "open_appeal_id",
    "open_marker_key",
    "operator_appeals_page",
    "operator_source_appeals",
    "operator_status_key",
    "unaccepted_active",
    "waiting_key",
]

# An appeal's own item; the table also holds open-appeal markers, members, aliases and messages.
APPEAL_ID_PREFIX = "ap_"


class AppealStatus(Word):
    WAITING = "waiting"
    ACTIVE = "active"
    CLOSED = "closed"


WAITING, ACTIVE, CLOSED = AppealStatus.WAITING, AppealStatus.ACTIVE, AppealStatus.CLOSED


class Segment(Word):
    """Segments of a source's waiting line (the `waiting_key` prefix): drains read
    `queued#` oldest first; escalated appeals wait for a human in their own segment."""

    QUEUED = "queued"
    ESCALATED = "escalated"


QUEUED_SEGMENT, ESCALATED_SEGMENT = Segment.QUEUED, Segment.ESCALATED


class EventType(Word):
    """What an appeal's history records, one event per change."""

    CREATED = "created"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    REASSIGNED = "reassigned"
    RETURNED_TO_LINE = "returned_to_line"
    ESCALATED = "escalated"
    CLOSED = "closed"
    # An accepted appeal quiet for its follow-up period: its operator is reminded.
    FOLLOWUP_REMINDER = "followup_reminder"


class Trigger(Word):
    """What made a placement happen (a decision record says it)."""

    INTAKE = "intake"
    DRAIN = "drain"
    SLA_LAPSE = "sla_lapse"
    REDISTRIBUTE = "redistribute"


class Reason(Word):
    """Why an appeal moved, as its history says."""

    NOBODY_FREE = "nobody_free"
    ASSIGNED_BY_HAND = "assigned_by_hand"
    NO_OPERATOR_LEFT = "no_operator_left"
    SLA_LAPSED = "sla_lapsed"
    OPERATOR_DEACTIVATED = "operator_deactivated"
    OPERATOR_PAUSED = "operator_paused"
    SHIFT_ENDED = "shift_ended"
    # Accepted, then quiet for two follow-up periods (the second after a reminder).
    NO_FOLLOWUP = "no_followup"


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
    # Skills the appeal itself requires (reclaims from the listing must respect them), and its VIP flag.
    "required_tags",
    "vip",
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
    # A drain skips an appeal no free operator has the skills for: read with the line, no extra request.
    "required_tags",
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


# The follow-up job reads only what deciding needs (routing/followup.py) and moving it takes.
FOLLOWUP_ATTRIBUTES = (
    *WORK_ATTRIBUTES,
    "last_activity_at",
    "followup_reminded_at",
    "followup_seconds",
    "followup_action",
)
# Every due follow-up shares one index partition (the job reads O(due) from it with one Query
# per page): accepts and activity write it at most a few times a second, far under a partition's limit.
FOLLOWUP_QUEUE = "due"


class FollowupDue(GlobalSecondaryIndex["Appeal"]):
    """Sparse: only accepted, active appeals of a source with follow-up carry
    `followup_queue`; `followup_due_at` is `<instant>#<id>`, moved forward by
    every activity, so the job's due ones are one range query, O(due)."""

    class Meta:
        index_name = "followup_due"
        projection = include_projection(FOLLOWUP_ATTRIBUTES, "followup_queue", "followup_due_at")

    followup_queue = UnicodeAttribute(hash_key=True)
    followup_due_at = UnicodeAttribute(range_key=True)


class Appeal(Model):
    class Meta(TableMeta):
        table_name = TableName("appeals")
        # Both images on the stream: chalicelib/events reads what changed, and
        # directory/aggregates keeps the per-source totals (intake writes no source item).
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

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
    # The appeal's own skill requirement (e.g. the language a bot detected); the source's is added at draw time.
    required_tags = UnicodeSetAttribute(null=True)
    # Flagged VIP at intake: first in a priority line (chalicelib/routing/line_order.py).
    vip = BooleanAttribute(null=True)
    last_message_at = UnicodeAttribute(null=True)
    # Sequence of the conversation's latest message, inbound or outbound (`models.messages`).
    last_seq = NumberAttribute(null=True)
    # Follow-up after accept (routing/followup.py), copied from the source when accepted:
    # a later change of the source applies to appeals accepted after it.
    followup_seconds = NumberAttribute(null=True)
    followup_action = UnicodeAttribute(null=True)
    # Accept, a note, a reply, a stage move of the lead: the current quiet period began then.
    last_activity_at = UnicodeAttribute(null=True)
    followup_reminded_at = UnicodeAttribute(null=True)
    followup_queue = UnicodeAttribute(null=True)
    followup_due_at = UnicodeAttribute(null=True)
    # Notes written on this appeal (POST /appeals/{id}/notes); each has an `AppealNoteLink`.
    notes_count = NumberAttribute(null=True)
    # Set only on a `MessageAlias` read through this model: the appeal it points at.
    alias_of = UnicodeAttribute(null=True)
    # JSON events (created, assigned with its decision record, accepted, ...),
    # appended in the same write that changes the state they describe.
    events = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]  # JSON strings

    by_lead = AppealsByLead()
    by_operator = AppealsByOperator()
    waiting_by_source = WaitingAppealsBySource()
    awaiting_accept = AwaitingAcceptBySource()
    followup_due = FollowupDue()


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


class MessageAlias(Model):
    """A follow-up message attached to an open appeal, kept in the appeals table.

    Its key is the id the message would have had as an appeal of its own
    (`appeal_id_for_message(source, message_id)`), written under
    `attribute_not_exists` in the attach transaction: a redelivered follow-up
    fails that condition exactly as a redelivered first message fails the
    appeal's, and no item grows with the number of messages (an appeal used to
    keep every follow-up's id in a set, until it hit the 400 KB item limit).
    It expires (DynamoDB TTL) well after SQS could redeliver the message.
    """

    class Meta(TableMeta):
        table_name = TableName("appeals")

    appeal_id = UnicodeAttribute(hash_key=True)
    alias_of = UnicodeAttribute()
    expires_at = TTLAttribute()


# Longer than SQS keeps a message (14 days at most), so a redelivery always finds its alias.
ALIAS_LIFETIME_SECONDS = 15 * 24 * 3600


class AppealNoteLink(Model):
    """Which of its lead's notes is an appeal's n-th note, kept in the appeals table.

    Its key is `note#<appeal_id>#<n, zero-padded>`, `n` taken from the appeal's
    `notes_count` in the note's own transaction, so a page of an appeal's notes
    is one BatchGetItem of known keys here and one of the notes themselves.
    It carries no text (that stays on the lead's note) and no index sees it.
    """

    class Meta(TableMeta):
        table_name = TableName("appeals")

    appeal_id = UnicodeAttribute(hash_key=True)
    lead_note_seq = NumberAttribute()


def appeal_note_key(appeal_id: str, seq: int) -> str:
    return f"note#{appeal_id}#{seq:06d}"


def appeal_note_links(appeal_id: str, first: int, last: int) -> list[int]:
    """The lead-note numbers of the appeal's notes `first..last`, newest first: one BatchGetItem."""
    if last < first:
        return []
    found = AppealNoteLink.batch_get(
        [appeal_note_key(appeal_id, seq) for seq in range(first, last + 1)], consistent_read=True
    )
    return sorted((int(row.lead_note_seq) for row in found), reverse=True)


class LeadMembership(Model):
    """How many of a lead's appeals from one source are with one operator
    (active, or closed while with it), kept in the appeals table.

    Its key is `member#<lead_id>#<source_id>#<operator_id>`; handing an
    appeal to an operator adds 1, taking it back (reassignment, the line,
    escalation) takes 1 off, in the same transaction. Whether an operator may
    read a lead, and whose contacts, is then one BatchGetItem of small items,
    whatever the number of the lead's appeals. No index sees it.
    """

    class Meta(TableMeta):
        table_name = TableName("appeals")

    appeal_id = UnicodeAttribute(hash_key=True)
    appeals = NumberAttribute(default=0)


def member_key(lead_id: str, source_id: str, operator_id: str) -> str:
    return f"member#{lead_id}#{source_id}#{operator_id}"


def open_marker_key(lead_id: str, source_id: str) -> str:
    return f"open#{lead_id}#{source_id}"


def operator_status_key(status: AppealStatus, created_at: str, appeal_id: str) -> str:
    return f"{status}#{created_at}#{appeal_id}"


def waiting_key(segment: Segment, since: str, appeal_id: str) -> str:
    return f"{segment}#{since}#{appeal_id}"


# --- queries ---------------------------------------------------------------


def get_appeal_row(appeal_id: str) -> Appeal:
    return get_row(Appeal, appeal_id, "appeal")


def appeal_for_message(key: str) -> Appeal:
    """The appeal a message made or was attached to: `key` names the appeal, or an alias of it."""
    row = get_appeal_row(key)
    return get_appeal_row(row.alias_of) if row.alias_of else row


def open_appeal_id(marker_key: str) -> str | None:
    """The appeal a (lead, source) marker names, if any."""
    try:
        return str(OpenAppealMarker.get(marker_key, consistent_read=True).open_appeal_id)
    except DoesNotExist:
        return None


def _line_query(source_id: str, segment: Segment) -> Callable[..., Any]:
    def query(**kw: Any) -> Any:
        return Appeal.waiting_by_source.query(
            source_id, range_key_condition=Appeal.waiting_key.startswith(f"{segment}#"), **kw
        )

    return query


def line_work_page(source_id: str, limit: int, start: Key | None) -> tuple[list[Appeal], Key | None]:
    """One page of a source's queue, oldest first, as the index holds it (what a
    drain needs to move them): O(page), never O(history)."""
    results = _line_query(source_id, Segment.QUEUED)(limit=limit, page_size=limit, last_evaluated_key=start)
    return list(results), results.last_evaluated_key


def line_is_empty(source_id: str) -> bool:
    """Whether the source's queue is empty: one Limit=1 Query on the sparse index, flat in history."""
    return not list(_line_query(source_id, Segment.QUEUED)(limit=1, page_size=1))


def line_size(source_id: str) -> int:
    """Appeals waiting in the source's line (both segments): a COUNT Query, O(waiting), never O(history)."""
    return int(Appeal.waiting_by_source.count(source_id))


def line_rows_page(source_id: str, segment: Segment, limit: int, start: Key | None) -> tuple[list[Appeal], Key | None]:
    """One page of a line segment, oldest first, as whole rows (for listing)."""
    return take_rows_page(_line_query(source_id, segment), Appeal, limit, start)


def lapsed_appeals(source_id: str, now: str) -> Iterator[Appeal]:
    """Active, unaccepted appeals of the source past their deadline: O(lapsed)."""
    return Appeal.awaiting_accept.query(source_id, range_key_condition=Appeal.sla_due_at < now)


def followup_due(now: str, page_size: int = 100) -> Iterator[Appeal]:
    """Accepted appeals whose follow-up is due at `now`, earliest first: O(due), lazily paged."""
    return Appeal.followup_due.query(
        FOLLOWUP_QUEUE, range_key_condition=Appeal.followup_due_at < now, page_size=page_size
    )


def unaccepted_active(operator_id: str) -> Iterator[Appeal]:
    """An operator's active appeals it has not accepted yet."""
    return Appeal.by_operator.query(
        operator_id,
        range_key_condition=Appeal.operator_status_key.startswith(f"{ACTIVE}#"),
        filter_condition=Appeal.accepted_at.does_not_exist(),
    )


def active_of(operator_id: str) -> Iterator[Appeal]:
    """An operator's active appeals, accepted or not (a shift end on a source returning accepted ones)."""
    return Appeal.by_operator.query(
        operator_id, range_key_condition=Appeal.operator_status_key.startswith(f"{ACTIVE}#")
    )


def count_active(operator_id: str) -> int:
    """O(active appeals of this operator): a COUNT query on the index, never a Scan."""
    return int(
        Appeal.by_operator.count(operator_id, range_key_condition=Appeal.operator_status_key.startswith(f"{ACTIVE}#"))
    )


def operator_appeals_page(
    operator_id: str, status: AppealStatus, limit: int, start: Key | None
) -> tuple[list[Appeal], Key | None]:
    """An operator's appeals in one status, newest first."""

    def query(**kw: Any) -> Any:
        return Appeal.by_operator.query(
            operator_id,
            range_key_condition=Appeal.operator_status_key.startswith(f"{status}#"),
            scan_index_forward=False,
            **kw,
        )

    return take_page(query, limit, start)


def operator_source_appeals(operator_id: str, source_id: str, status: AppealStatus, page_size: int) -> Iterator[Appeal]:
    """An operator's appeals from one source in one status, newest first, lazily
    paged from the operator index (the listing projection: times, no history).
    Rows of the operator's other sources are read and filtered out, so the cost
    is O(rows read) up to the newest `page_size`-sized pages a caller consumes."""
    return Appeal.by_operator.query(
        operator_id,
        range_key_condition=Appeal.operator_status_key.startswith(f"{status}#"),
        filter_condition=Appeal.source_id == source_id,
        scan_index_forward=False,
        page_size=page_size,
    )


def lead_appeals_page(lead_id: str, limit: int, start: Key | None) -> tuple[list[Appeal], Key | None]:
    """A lead's appeals, newest first."""

    def query(**kw: Any) -> Any:
        return Appeal.by_lead.query(lead_id, scan_index_forward=False, **kw)

    return take_page(query, limit, start)


def member_sources(lead_id: str, operator_id: str, source_ids: list[str]) -> list[str]:
    """Those of `source_ids` through which one of the lead's appeals is (or, closed, was) with
    this operator: one BatchGetItem of membership items, O(sources), never O(appeals)."""
    if not source_ids:
        return []
    keys = {member_key(lead_id, source_id, operator_id): source_id for source_id in source_ids}
    found = LeadMembership.batch_get(list(keys), attributes_to_get=["appeal_id", "appeals"])
    return sorted(keys[row.appeal_id] for row in found if int(row.appeals or 0) > 0)


def appeals_created_between(operator_ids: list[str], source_ids: list[str], start: str, end: str) -> Iterator[Appeal]:
    """Every appeal created in [start, end), as the listing projection holds it: assigned
    ones from each operator's index range (active and closed), waiting ones from each
    source's line. Lazily paged (never a Scan); each appeal is in exactly one place."""
    for operator_id in operator_ids:
        for status in (ACTIVE, CLOSED):
            yield from Appeal.by_operator.query(
                operator_id,
                range_key_condition=Appeal.operator_status_key.between(f"{status}#{start}", f"{status}#{end}"),
                page_size=500,
            )
    for source_id in source_ids:
        for row in Appeal.waiting_by_source.query(source_id, page_size=500):
            if start <= row.created_at < end:
                yield row
