"""The operators table and every query on it."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.db.rows import get_row, newest_first
from chalicelib.db.tables import LISTED, TableMeta, TableName

__all__ = [
    "SHIFT_DUE",
    "Operator",
    "all_operator_ids",
    "get_operator_row",
    "operator_signed_in_as",
    "operators_by_id",
    "operators_newest_first",
    "shift_transitions_due",
]

# Partition value of the sparse `by_next_transition` index: only operators with a schedule carry it.
SHIFT_DUE = "due"


class OperatorsNewestFirst(GlobalSecondaryIndex["Operator"]):
    class Meta:
        index_name = "newest_first"
        # Keys only: rows change on every appeal, an index copy would too.
        projection = KeysOnlyProjection()

    listed = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class OperatorsBySubject(GlobalSecondaryIndex["Operator"]):
    """Sparse: which operator a signed-in person (the token's `sub`) is. Projects
    `is_active` and `paused_by_self` alone, so the load counters moving never
    rewrite it, and the authorizer learns who and whether it may act with one Query."""

    class Meta:
        index_name = "by_subject"
        projection = IncludeProjection(["is_active", "paused_by_self"])

    auth_subject = UnicodeAttribute(hash_key=True)


class OperatorsByNextTransition(GlobalSecondaryIndex["Operator"]):
    """Sparse: operators with a schedule, by the instant their shift state next changes.
    The shift job Queries `next_transition_at <= now`, so a run reads the operators that
    change state, never all of them. Keys only: the job reads the rows it acts on."""

    class Meta:
        index_name = "by_next_transition"
        projection = KeysOnlyProjection()

    shift_due = UnicodeAttribute(hash_key=True)
    next_transition_at = UnicodeAttribute(range_key=True)


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
    # The identity provider's `sub` of the person who works as this operator:
    # the binding the server keeps, so no token claim can name another operator.
    auth_subject = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    listed = UnicodeAttribute()
    # The operator bot: the linked Telegram chat, and the language it speaks there (None: the default).
    telegram_chat_id = NumberAttribute(null=True)
    locale = UnicodeAttribute(null=True)
    # Set while the operator has paused itself (console, operator bot): inactive for
    # routing, but still signed in, unlike an operator an admin deactivated.
    paused_by_self = BooleanAttribute(null=True)
    # Presence (see chalicelib.directory.presence): None is "available"; "paused" (by itself or
    # an admin, with a reason) or "off_shift" (the shift job, from the schedule). The claim's
    # condition refuses anyone not available; `is_active` stays "employed / may work at all".
    presence = UnicodeAttribute(null=True)
    presence_reason = UnicodeAttribute(null=True)
    presence_until = UnicodeAttribute(null=True)
    # The WeeklySchedule as JSON (validated on the way in); None: always on shift.
    schedule = UnicodeAttribute(null=True)
    time_zone = UnicodeAttribute(null=True)
    # Set only while a schedule exists: the sparse index's keys.
    shift_due = UnicodeAttribute(null=True)
    next_transition_at = UnicodeAttribute(null=True)
    # Skills (`lang:uk`, `product:insurance`): an appeal that requires tags goes only to operators
    # with all of them (chalicelib/routing/skills.py); the claim checks them again at commit.
    tags = UnicodeSetAttribute(null=True)

    newest_first = OperatorsNewestFirst()
    by_subject = OperatorsBySubject()
    by_next_transition = OperatorsByNextTransition()


def get_operator_row(operator_id: str) -> Operator:
    return get_row(Operator, operator_id, "operator")


def operator_signed_in_as(subject: str) -> Operator | None:
    """The operator bound to this `sub` (id and is_active only), or None when
    none is, or (a mistake an admin made) more than one: fails closed."""
    found = list(Operator.by_subject.query(subject, limit=2))
    return found[0] if len(found) == 1 else None


def operators_newest_first(limit: int, cursor: str | None) -> tuple[list[Operator], str | None]:
    return newest_first(Operator, Operator.newest_first, LISTED, limit, cursor)


def all_operator_ids() -> list[str]:
    """Every operator's id: a Query of the listing index (never a Scan)."""
    return [row.operator_id for row in Operator.newest_first.query(LISTED)]


def operators_by_id(operator_ids: list[str], *, consistent: bool = False) -> dict[str, Operator]:
    if not operator_ids:
        return {}
    return {row.operator_id: row for row in Operator.batch_get(operator_ids, consistent_read=consistent)}


def shift_transitions_due(now_iso: str) -> list[str]:
    """The operators whose shift state is due to change (`next_transition_at <= now`): one
    Query of the sparse index, its size the number changing state, not the team's."""
    query = Operator.by_next_transition.query(SHIFT_DUE, Operator.next_transition_at <= now_iso)
    return [row.operator_id for row in query]
