"""Reading, accepting, closing and assigning appeals by hand; the listings of
a source's line, an operator's appeals and a lead's appeals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.access.ownership import ensure_acting_as_self, ensure_own_appeal
from chalicelib.core.errors import Conflict, MalformedInput, ServiceBusy
from chalicelib.core.ids import utc_now
from chalicelib.core.observability import APPEALS_ASSIGNED, count, logger
from chalicelib.db.paging import decode_cursor, encode_cursor
from chalicelib.db.retry import tries
from chalicelib.db.transactions import Cancelled, Transaction
from chalicelib.models.appeals import (
    ACTIVE,
    CLOSED,
    WAITING,
    AppealStatus,
    Reason,
    Segment,
    get_appeal_row,
    lead_appeals_page,
    line_rows_page,
    operator_appeals_page,
)
from chalicelib.models.leads import get_lead_row
from chalicelib.models.operators import get_operator_row
from chalicelib.models.sources import get_source_row
from chalicelib.routing import transitions, waiting_line
from chalicelib.routing.capacity import CLAIM_LABELS
from chalicelib.routing.draw import Candidate
from chalicelib.routing.views import appeal_out
from chalicelib.schemas.appeals import AppealEvent, AppealHistory, AppealOut, SkillsRecord
from chalicelib.schemas.common import Page

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal
    from chalicelib.db.retry import RetryPolicy

__all__ = [
    "accept_appeal",
    "assign_appeal",
    "close_appeal",
    "get_appeal",
    "get_history",
    "list_lead_appeals",
    "list_operator_appeals",
    "list_waiting",
]

_LINE_KEY = ("appeal_id", "waiting_source_id", "waiting_key")
_OPERATOR_KEY = ("appeal_id", "operator_id", "operator_status_key")
_LEAD_KEY = ("appeal_id", "lead_id", "created_at")


def get_appeal(appeal_id: str, *, viewer: Principal) -> AppealOut:
    row = get_appeal_row(appeal_id)
    ensure_own_appeal(row, viewer)
    return appeal_out(row)


def get_history(appeal_id: str, *, viewer: Principal) -> AppealHistory:
    row = get_appeal_row(appeal_id)
    ensure_own_appeal(row, viewer)
    events = [AppealEvent.model_validate_json(raw) for raw in row.events or []]
    if not viewer.is_admin:
        events = [_as_seen_by(event, viewer.operator_id) for event in events]
    return AppealHistory(appeal_id=row.appeal_id, status=row.status, events=events)


def _as_seen_by(event: AppealEvent, operator_id: str | None) -> AppealEvent:
    """An operator's view of its appeal's history: its own part of each decision,
    never a colleague's id, weight or load."""

    def own(other: str | None) -> str | None:
        return other if other == operator_id else None

    decision = event.decision
    if decision is not None:
        decision = decision.model_copy(
            update={
                "candidates": [c for c in decision.candidates if c.operator_id == operator_id],
                "excluded": [o for o in decision.excluded if o == operator_id],
                "lost_races": [o for o in decision.lost_races if o == operator_id],
                "winner": own(decision.winner),
                "skills": _own_skills(decision.skills, operator_id),
            }
        )
    return event.model_copy(
        update={
            "operator_id": own(event.operator_id),
            "previous_operator_id": own(event.previous_operator_id),
            "decision": decision,
        }
    )


def _own_skills(skills: SkillsRecord | None, operator_id: str | None) -> SkillsRecord | None:
    """What was required stays; of who lacked what, only the viewer's own entry."""
    if skills is None:
        return None
    lacking = {o: tags for o, tags in skills.lacking.items() if o == operator_id}
    return skills.model_copy(update={"lacking": lacking})


def assign_appeal(appeal_id: str, operator_id: str, *, policy: RetryPolicy | None = None) -> AppealOut:
    """A person hands a waiting (or escalated) appeal to the operator they chose.

    The operator must be active and below its limit (the same claim as any
    assignment) but need not serve the source, and may be one who let it lapse.
    """
    operator = get_operator_row(operator_id)
    chosen = Candidate(operator_id, operator.name, 0, True, 0, 0)
    for _ in tries(policy):
        row = get_appeal_row(appeal_id)
        if row.status != WAITING:
            raise Conflict(f"appeal {appeal_id} is {row.status}; only a waiting appeal can be assigned by hand")
        source = get_source_row(row.source_id)
        tx = Transaction()
        after = transitions.hand_to_operator(
            tx, row, source, chosen, now=utc_now(), reason=Reason.ASSIGNED_BY_HAND, serving=False
        )
        try:
            tx.commit()
        except Cancelled as failure:
            if any(failure.failed(label) for label in CLAIM_LABELS):
                raise Conflict(f"operator {operator_id} is inactive, paused or off shift, or at its max_load") from None
            if not failure.failed(transitions.APPEAL) and not failure.contended:
                raise
            continue  # it moved (or the rows are busy): look again
        logger.info(
            "appeal assigned",
            extra={
                "appeal_id": appeal_id,
                "source_id": row.source_id,
                "operator_id": operator_id,
                "how": "manual",
                "trigger": "manual",
                "was_escalated": bool(row.escalated),
            },
        )
        count(APPEALS_ASSIGNED)
        return appeal_out(after)
    raise ServiceBusy("appeal is changing too fast to assign; retry shortly")


def accept_appeal(
    appeal_id: str, operator_id: str, *, viewer: Principal, policy: RetryPolicy | None = None
) -> AppealOut:
    """The assigned operator acknowledges the appeal, which stops its SLA clock."""
    ensure_acting_as_self(operator_id, viewer)
    for _ in tries(policy):
        row = get_appeal_row(appeal_id)
        ensure_own_appeal(row, viewer)
        if row.status != ACTIVE or row.operator_id != operator_id:
            whose = "nobody" if row.operator_id is None else "another operator"
            raise Conflict(f"appeal {appeal_id} is {row.status} and assigned to {whose}; only its operator may accept")
        if row.accepted_at is not None:
            return appeal_out(row)  # accepting twice changes nothing
        tx = Transaction()
        after = transitions.accept(tx, row, operator_id, now=utc_now())
        try:
            tx.commit()
        except Cancelled as failure:
            if failure.failed(transitions.APPEAL) or failure.contended:
                continue  # reassigned or closed meanwhile (or busy): look again
            raise
        logger.info(
            "appeal accepted", extra={"appeal_id": appeal_id, "source_id": row.source_id, "operator_id": operator_id}
        )
        return appeal_out(after)
    raise ServiceBusy("appeal is changing too fast to accept; retry shortly")


def close_appeal(appeal_id: str, *, viewer: Principal, policy: RetryPolicy | None = None) -> AppealOut:
    """Closes an active or waiting appeal; an active one frees its operator's
    slot, which goes straight to the oldest waiting appeal it can take."""
    for _ in tries(policy):
        row = get_appeal_row(appeal_id)
        ensure_own_appeal(row, viewer)
        if row.status == CLOSED:
            raise Conflict(f"appeal {appeal_id} is already closed")
        tx = Transaction()
        after = transitions.close(tx, row, now=utc_now())
        try:
            tx.commit()
        except Cancelled as failure:
            if failure.failed(transitions.APPEAL):
                continue  # it moved under us (closed, drained, reassigned): look again
            if any(failure.failed(transitions.RELEASED + label) for label in CLAIM_LABELS):
                raise RuntimeError(f"load counter for appeal {appeal_id} is already zero") from failure
            if not failure.contended:
                raise
            continue
        logger.info(
            "appeal closed",
            extra={
                "appeal_id": appeal_id,
                "source_id": row.source_id,
                "operator_id": row.operator_id,
                "from_status": row.status,
            },
        )
        if row.status == ACTIVE and row.operator_id is not None:
            waiting_line.drain_after_release(row.operator_id)
        return appeal_out(after)
    raise ServiceBusy("appeal is changing too fast to close; retry shortly")


def list_waiting(source_id: str, escalated: bool, limit: int, cursor: str | None) -> Page[AppealOut]:
    """A source's line, oldest first: the queue the drains serve, or the escalated appeals."""
    get_source_row(source_id)
    segment = Segment.ESCALATED if escalated else Segment.QUEUED
    start, _ = decode_cursor(cursor, _LINE_KEY, pinned={"waiting_source_id": source_id})
    if start is not None and not start["waiting_key"]["S"].startswith(f"{segment}#"):
        raise MalformedInput("this cursor belongs to another listing")
    rows, last = line_rows_page(source_id, segment, limit, start)
    return Page[AppealOut](items=[appeal_out(row) for row in rows], next=encode_cursor(last))


def list_operator_appeals(
    operator_id: str, status: AppealStatus | None, limit: int, cursor: str | None
) -> Page[AppealOut]:
    """Newest first. Without a status, active appeals come first, then closed."""
    get_operator_row(operator_id)
    start, state = decode_cursor(cursor, _OPERATOR_KEY, pinned={"operator_id": operator_id})
    phases = [AppealStatus(status)] if status else [ACTIVE, CLOSED]
    phase = state.get("phase", phases[0])
    if phase not in phases:
        raise MalformedInput("this cursor belongs to a listing with another status filter")
    if start is not None and not start["operator_status_key"]["S"].startswith(f"{phase}#"):
        raise MalformedInput("this cursor belongs to another listing")
    items: list[AppealOut] = []
    for current in phases[phases.index(AppealStatus(phase)) :]:
        rows, last = operator_appeals_page(operator_id, current, limit - len(items), start)
        items.extend(appeal_out(row) for row in rows)
        if last is not None:
            return Page[AppealOut](items=items, next=encode_cursor(last, phase=current))
        start = None
        if len(items) >= limit:
            following = phases[phases.index(current) + 1 :]
            return Page[AppealOut](items=items, next=encode_cursor(None, phase=following[0]) if following else None)
    return Page[AppealOut](items=items, next=None)


def list_lead_appeals(lead_id: str, limit: int, cursor: str | None) -> Page[AppealOut]:
    """A lead's appeals, newest first."""
    get_lead_row(lead_id)
    start, _ = decode_cursor(cursor, _LEAD_KEY, pinned={"lead_id": lead_id})
    rows, last = lead_appeals_page(lead_id, limit, start)
    return Page[AppealOut](items=[appeal_out(row) for row in rows], next=encode_cursor(last))
