"""Every way an appeal changes state, each written once.

A transition is a function that adds to a `Transaction` the appeal's new
state, the counters that move with it and the conditions under which it may
happen; intake, the drains, SLA reclaims, redistribution and manual
assignment all call these, and nothing else writes an appeal's state:

    queue             new appeal, nobody free      -> the line (queued)
    hand_to_operator  new / waiting / active       -> active with an operator (claims it)
    release           active                       -> frees its operator's slot
    return_to_line    active, nobody else free     -> the line (queued)
    escalate          active or waiting            -> the line's escalated segment, for a person
    close             active or waiting            -> closed
    accept            active, not yet accepted     -> accepted (stops the SLA clock; starts the follow-up one)
    record_activity   accepted (a note, a reply)   -> the follow-up clock starts again
    remind_followup   accepted, quiet one period   -> reminded (the follow-up job)
    attach_message    waiting or active            -> one more message from the lead on it
    add_reply         waiting or active            -> one more message to the lead on it

Leaving a place is written once too (`_leave`): a waiting appeal gives its
place in the line back, an active one its operator's slot, and the change is
conditional on the appeal still being exactly where it was read. Each
returns the appeal as it will be once the transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import Conflict
from chalicelib.core.ids import iso
from chalicelib.db.history import append_to
from chalicelib.models.appeals import (
    ALIAS_LIFETIME_SECONDS,
    FOLLOWUP_QUEUE,
    Appeal,
    AppealStatus,
    EventType,
    MessageAlias,
    Reason,
    Segment,
    operator_status_key,
    waiting_key,
)
from chalicelib.models.leads import Lead
from chalicelib.models.messages import last_seq_of
from chalicelib.routing import conversation, counters
from chalicelib.routing.capacity import add_claim, add_release
from chalicelib.routing.followup import FollowupAction
from chalicelib.routing.source_cache import source_cache
from chalicelib.schemas.appeals import AppealEvent

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition
    from pynamodb.expressions.update import Action

    from chalicelib.db.transactions import Transaction
    from chalicelib.models.messages import AppealMessage
    from chalicelib.models.sources import Source
    from chalicelib.routing.draw import Candidate, Decision

__all__ = [
    "ALIAS",
    "APPEAL",
    "LEAD",
    "RELEASED",
    "accept",
    "add_reply",
    "attach_message",
    "close",
    "deadline_of",
    "escalate",
    "event",
    "following_up",
    "followup_due_key",
    "hand_to_operator",
    "queue",
    "record_activity",
    "release",
    "remind_followup",
    "return_to_line",
]

# Item labels, so a cancellation says which condition failed.
APPEAL = "appeal"
ALIAS = "alias"
LEAD = "lead"
# A release shares its transaction with a claim on another operator: its items get their own labels.
RELEASED = "released_"

WAITING, ACTIVE, CLOSED = AppealStatus.WAITING, AppealStatus.ACTIVE, AppealStatus.CLOSED
# Fields of an appeal's state, by status; every transition sets or removes
# all of them, so no state keeps another's leftovers. None removes.
_OPERATOR_FIELDS = ("operator_id", "operator_name", "operator_status_key", "assigned_at", "accepted_at")
_SLA_FIELDS = ("sla_source_id", "sla_due_at")
_LINE_FIELDS = ("waiting_source_id", "waiting_key")
# What intake may set on a new appeal beyond its message: its own required skills, its VIP flag.
_INTAKE_FLAGS = ("required_tags", "vip")
# The sparse follow-up index's keys and the reminder: only an accepted, active appeal has them.
_FOLLOWUP_FIELDS = ("followup_queue", "followup_due_at", "followup_reminded_at")


def event(kind: EventType, at: str, *, decision: Decision | None = None, **fields: Any) -> str:
    record = decision.record() if decision is not None else None
    # Validated on the way in, so the history endpoint never meets a bad row.
    return AppealEvent.model_validate({"type": kind, "at": at, "decision": record, **fields}).model_dump_json(
        exclude_none=True
    )


def sla_deadline(source: Source, assigned_at: datetime, appeal_id: str) -> str | None:
    if source.response_sla_seconds is None:
        return None
    return f"{iso(assigned_at + timedelta(seconds=int(source.response_sla_seconds)))}#{appeal_id}"


def deadline_of(row: Appeal) -> str | None:
    return row.sla_due_at.split("#", 1)[0] if row.sla_due_at else None


@dataclass
class _Departure:
    """What leaving the appeal's current place adds: its own field changes, the
    events that come first, and the condition that it is still there."""

    guard: Condition
    fields: dict[str, Any] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


def _leave(
    tx: Transaction, row: Appeal, at: str, *, reclaim: Reason | None = None, accepted_too: bool = False
) -> _Departure:
    """A new appeal (no status yet) is created; a waiting one gives its place
    in the line back; an active one releases its operator's slot. `reclaim`
    (why an active appeal is taken back) also requires that it is still
    unaccepted (unless `accepted_too`: a shift end on a source that returns accepted
    appeals), and counts the take-back on the appeal."""
    if row.status is None:
        return _Departure(
            Appeal.appeal_id.does_not_exist(), _created_fields(row), events=[event(EventType.CREATED, at)]
        )
    if row.status == WAITING:
        return _Departure((Appeal.status == WAITING) & (Appeal.waiting_key == row.waiting_key))
    if row.status == ACTIVE and row.operator_id is not None:
        release(tx, row)
        departure = _Departure((Appeal.status == ACTIVE) & (Appeal.operator_id == row.operator_id))
        if reclaim is not None:
            # Taken from its operator (a close leaves it theirs): so is the operator's view of the lead.
            counters.add_member(tx, row.lead_id, row.source_id, row.operator_id, -1, label=RELEASED + counters.MEMBER)
            if reclaim == Reason.NO_FOLLOWUP:
                # Accepted, and nothing happened on it since the job read it.
                departure.guard &= Appeal.followup_due_at == row.followup_due_at
            elif not accepted_too:
                departure.guard &= Appeal.accepted_at.does_not_exist()
            departure.actions.append(Appeal.reassign_count.add(1))
        if reclaim == Reason.SLA_LAPSED:
            # Still the same deadline: otherwise someone acted first.
            departure.guard &= Appeal.sla_due_at == row.sla_due_at
            departure.actions.append(Appeal.lapsed_operator_ids.add({row.operator_id}))
        return departure
    raise Conflict(f"appeal {row.appeal_id} is {row.status}")


def _created_fields(row: Appeal) -> dict[str, Any]:
    fields = {
        name: getattr(row, name)
        for name in ("lead_id", "lead_external_id", "source_id", "message", "message_id", "created_at", *_INTAKE_FLAGS)
        if getattr(row, name) is not None
    }
    return {**fields, "last_message_at": row.created_at, "message_count": 1, "last_seq": 1, "reassign_count": 0}


def _write(tx: Transaction, row: Appeal, departure: _Departure, fields: dict[str, Any], *events: str) -> Appeal:
    """Adds the appeal's update and returns the row as it will be."""
    state = {**departure.fields, **fields}
    actions = [
        getattr(Appeal, name).set(value) if value is not None else getattr(Appeal, name).remove()
        for name, value in state.items()
    ]
    history = [*departure.events, *events]
    tx.update(
        APPEAL,
        Appeal(row.appeal_id),
        [*actions, *departure.actions, append_to(Appeal.events, *history)],
        departure.guard,
    )
    kept = {name: value for name, value in row.attribute_values.items() if name != "appeal_id"}
    after = Appeal(row.appeal_id, **{**kept, **state})
    after.events = [*(row.events or []), *history]
    return after


def _in_line(row: Appeal, segment: Segment, at: str, key: str | None = None) -> dict[str, Any]:
    return {
        "status": WAITING,
        "waiting_source_id": row.source_id,
        "waiting_key": key or waiting_key(segment, at, row.appeal_id),
        "escalated": True if segment is Segment.ESCALATED else None,
        **dict.fromkeys(_OPERATOR_FIELDS + _SLA_FIELDS + _FOLLOWUP_FIELDS),
    }


def queue(tx: Transaction, row: Appeal, *, now: datetime, decision: Decision, line_key: str | None = None) -> Appeal:
    """A new appeal nobody can take yet joins its source's line: under `line_key`
    (a priority line's, chalicelib/routing/line_order.py) or, fifo, at its arrival."""
    at = iso(now)
    departure = _leave(tx, row, at)
    queued = event(EventType.QUEUED, at, decision=decision, reason=Reason.NOBODY_FREE)
    return _write(tx, row, departure, _in_line(row, Segment.QUEUED, at, line_key), queued)


def hand_to_operator(
    tx: Transaction,
    row: Appeal,
    source: Source,
    winner: Candidate,
    *,
    now: datetime,
    decision: Decision | None = None,
    reason: Reason | None = None,
    serving: bool = True,
    accepted_too: bool = False,
) -> Appeal:
    """The appeal (new, waiting, or taken back from another operator for
    `reason`) becomes `winner`'s: claims its capacity and remembers it on the
    lead for sticky routing. `serving=False` (a person's choice) does not
    require that the operator serves the source."""
    at = iso(now)
    previous = row.operator_id if row.status == ACTIVE else None
    departure = _leave(tx, row, at, reclaim=reason if previous else None, accepted_too=accepted_too)
    # The skills the draw required: the claim refuses an operator who has lost one meanwhile.
    required = decision.skills.required if decision is not None and decision.skills is not None else ()
    add_claim(tx, row.source_id, winner.operator_id, serving=serving, tags=required)
    counters.add_member(tx, row.lead_id, row.source_id, winner.operator_id, 1)
    # A new appeal's lead is upserted by intake in this same transaction.
    lead_exists = Lead.lead_id.exists() if row.status is not None else None
    tx.update(LEAD, Lead(row.lead_id), [Lead.last_operator_id.set(winner.operator_id)], lead_exists)
    deadline = sla_deadline(source, now, row.appeal_id)
    fields = {
        "status": ACTIVE,
        "operator_id": winner.operator_id,
        "operator_name": winner.name,
        "operator_status_key": operator_status_key(ACTIVE, row.created_at, row.appeal_id),
        "assigned_at": at,
        "accepted_at": None,
        "sla_source_id": source.source_id if deadline else None,
        "sla_due_at": deadline,
        "escalated": None,
        **dict.fromkeys(_LINE_FIELDS + _FOLLOWUP_FIELDS),
    }
    kind = EventType.REASSIGNED if previous else EventType.ASSIGNED
    told = event(
        kind, at, decision=decision, operator_id=winner.operator_id, previous_operator_id=previous, reason=reason
    )
    return _write(tx, row, departure, fields, told)


def release(tx: Transaction, row: Appeal) -> None:
    """Frees the slot of the operator the (active) appeal was with."""
    if row.operator_id is not None:
        add_release(tx, row.source_id, row.operator_id, label=RELEASED)


def return_to_line(
    tx: Transaction, row: Appeal, *, now: datetime, decision: Decision, reason: Reason, accepted_too: bool = False
) -> Appeal:
    """An active appeal taken back from its operator, with nobody else free, waits again."""
    at = iso(now)
    departure = _leave(tx, row, at, reclaim=reason, accepted_too=accepted_too)
    returned = event(
        EventType.RETURNED_TO_LINE, at, decision=decision, previous_operator_id=row.operator_id, reason=reason
    )
    return _write(tx, row, departure, _in_line(row, Segment.QUEUED, at), returned)


def escalate(tx: Transaction, row: Appeal, *, now: datetime, reason: Reason) -> Appeal:
    """The appeal waits for a person, in its line's escalated segment (out of the drains):
    taken from an operator who let it lapse once too often, or from a line with nobody left."""
    at = iso(now)
    if row.status == WAITING:
        # Only the segment changes.
        departure = _Departure((Appeal.status == WAITING) & (Appeal.waiting_key == row.waiting_key))
        previous = None
    else:
        departure = _leave(tx, row, at, reclaim=reason)
        previous = row.operator_id
    escalated = event(EventType.ESCALATED, at, previous_operator_id=previous, reason=reason)
    return _write(tx, row, departure, _in_line(row, Segment.ESCALATED, at), escalated)


def close(tx: Transaction, row: Appeal, *, now: datetime) -> Appeal:
    """An active appeal frees its operator's slot; a waiting one leaves the line."""
    at = iso(now)
    departure = _leave(tx, row, at)
    fields: dict[str, Any] = {
        "status": CLOSED,
        "closed_at": at,
        **dict.fromkeys(_SLA_FIELDS + _LINE_FIELDS + _FOLLOWUP_FIELDS),
    }
    if row.status == ACTIVE:
        # It stays in its operator's listing, among the closed ones.
        fields["operator_status_key"] = operator_status_key(CLOSED, row.created_at, row.appeal_id)
    return _write(tx, row, departure, fields, event(EventType.CLOSED, at, operator_id=row.operator_id))


def accept(tx: Transaction, row: Appeal, operator_id: str, *, now: datetime, source: Source | None = None) -> Appeal:
    """The appeal's operator acknowledges it, which stops its SLA clock and,
    when its source asks for follow-up, starts that one: the source's period
    and action are copied onto the appeal (a later change of the source
    applies to appeals accepted after it), due one period from now."""
    at = iso(now)
    guard = (Appeal.status == ACTIVE) & (Appeal.operator_id == operator_id) & Appeal.accepted_at.does_not_exist()
    fields: dict[str, Any] = {"accepted_at": at, **dict.fromkeys(_SLA_FIELDS + _FOLLOWUP_FIELDS)}
    settings = source if source is not None else source_cache.source(row.source_id)
    if settings.followup_seconds is not None:
        seconds = int(settings.followup_seconds)
        fields |= {
            "followup_seconds": seconds,
            "followup_action": settings.followup_action or FollowupAction.ESCALATE.value,
            **_followup_clock(row.appeal_id, now, seconds),
        }
    return _write(tx, row, _Departure(guard), fields, event(EventType.ACCEPTED, at, operator_id=operator_id))


def followup_due_key(appeal_id: str, due: datetime) -> str:
    return f"{iso(due)}#{appeal_id}"


def _followup_clock(appeal_id: str, now: datetime, seconds: int) -> dict[str, Any]:
    """A quiet period starts now: due one period later, no reminder yet."""
    return {
        "last_activity_at": iso(now),
        "followup_queue": FOLLOWUP_QUEUE,
        "followup_due_at": followup_due_key(appeal_id, now + timedelta(seconds=seconds)),
        "followup_reminded_at": None,
    }


def following_up(row: Appeal) -> bool:
    """Whether the appeal's follow-up clock runs (accepted, active, its source asked for it)."""
    return row.status == ACTIVE and row.followup_queue is not None and row.followup_seconds is not None


def record_activity(tx: Transaction, row: Appeal, *, now: datetime) -> Appeal:
    """Something happened on an accepted appeal (a note, a reply to the lead):
    its follow-up clock starts again, and a pending reminder is forgotten.
    Conditional on the clock still running, so activity racing the follow-up
    job's action ends one way: the job's condition (the due instant it read)
    fails, or this one does and the caller looks again. Nothing is added
    when the appeal has no follow-up clock."""
    if not following_up(row):
        return row
    fields = _followup_clock(row.appeal_id, now, int(row.followup_seconds))
    actions = [
        getattr(Appeal, name).set(value) if value is not None else getattr(Appeal, name).remove()
        for name, value in fields.items()
    ]
    tx.update(APPEAL, Appeal(row.appeal_id), actions, (Appeal.status == ACTIVE) & Appeal.followup_queue.exists())
    kept = {name: value for name, value in row.attribute_values.items() if name != "appeal_id"}
    return Appeal(row.appeal_id, **{**kept, **fields})


def remind_followup(tx: Transaction, row: Appeal, *, now: datetime) -> Appeal:
    """The follow-up job found the appeal quiet for a period: the reminder is
    recorded (its history event becomes `appeal.followup_reminder` on the
    stream) and the next look is one period from now; conditional on nothing
    having changed since the job read the appeal."""
    at = iso(now)
    guard = (Appeal.status == ACTIVE) & (Appeal.followup_due_at == row.followup_due_at)
    fields = {
        "followup_reminded_at": at,
        "followup_due_at": followup_due_key(row.appeal_id, now + timedelta(seconds=int(row.followup_seconds))),
    }
    reminder = event(EventType.FOLLOWUP_REMINDER, at, operator_id=row.operator_id)
    return _write(tx, row, _Departure(guard), fields, reminder)


def attach_message(
    tx: Transaction,
    row: Appeal,
    lead_id: str,
    message: conversation.Inbound,
    *,
    message_key: str | None,
    now: datetime,
) -> Appeal:
    """A follow-up message on an open appeal: stored as the conversation's next
    message (whose key is taken under a condition, so a writer that read the
    same length is cancelled on label `message`), counted on the appeal once
    per message id (its alias item is created under a condition, so a
    redelivery cancels the whole transaction) and on its lead, where it is a
    scoring input."""
    at = iso(now)
    seq = last_seq_of(row) + 1
    actions = [Appeal.message_count.add(1), Appeal.last_message_at.set(at), Appeal.last_seq.set(seq)]
    tx.update(APPEAL, Appeal(row.appeal_id), actions, Appeal.status.is_in(WAITING, ACTIVE))
    conversation.add_message(tx, conversation.inbound(row.appeal_id, seq, message, at))
    if message_key is not None:
        alias = MessageAlias(
            message_key, alias_of=row.appeal_id, expires_at=now + timedelta(seconds=ALIAS_LIFETIME_SECONDS)
        )
        tx.put(ALIAS, alias, MessageAlias.appeal_id.does_not_exist())
    counters.add_lead_message(tx, lead_id, at, opens_appeal=False, must_exist=True)
    kept = {name: value for name, value in row.attribute_values.items() if name != "appeal_id"}
    after = Appeal(row.appeal_id, **kept)
    after.message_count, after.last_message_at, after.last_seq = int(row.message_count or 1) + 1, at, seq
    return after


def add_reply(tx: Transaction, row: Appeal, message: AppealMessage) -> Appeal:
    """An outbound message takes the conversation's next sequence number (the
    caller built it with `last_seq_of(row) + 1`); the appeal must still be open."""
    tx.update(
        APPEAL,
        Appeal(row.appeal_id),
        [Appeal.last_seq.set(int(message.seq))],
        Appeal.status.is_in(WAITING, ACTIVE),
    )
    conversation.add_message(tx, message)
    kept = {name: value for name, value in row.attribute_values.items() if name != "appeal_id"}
    after = Appeal(row.appeal_id, **kept)
    after.last_seq = int(message.seq)
    return after
