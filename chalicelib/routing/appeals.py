"""Appeal intake (idempotent, sticky-aware), reading, accepting and closing."""

from __future__ import annotations

import random
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.access.ownership import ensure_acting_as_self, ensure_may_post_to, ensure_own_appeal
from chalicelib.access.principal import SYSTEM, Principal
from chalicelib.core.errors import Conflict, MalformedInput, NotFound, ServiceBusy
from chalicelib.core.ids import appeal_id_for_message, is_well_formed, iso, lead_id_for, new_id, utc_now
from chalicelib.core.observability import APPEALS_ASSIGNED, APPEALS_RECEIVED, APPEALS_WAITING, count, logger
from chalicelib.db.paging import decode_cursor, encode_cursor, take_rows_page
from chalicelib.db.tables import LISTED
from chalicelib.db.transactions import Backoff, Cancelled, Transaction, commit_with_retry, is_contention
from chalicelib.directory import operators
from chalicelib.directory.sources import get_source_row
from chalicelib.funnel.lead_state import scoring_inputs_changed
from chalicelib.models import Appeal, Lead, OpenAppealMarker, Source
from chalicelib.models.appeals import (
    ACTIVE,
    CLOSED,
    ESCALATED_SEGMENT,
    QUEUED_SEGMENT,
    WAITING,
    open_marker_key,
    operator_status_key,
    waiting_key,
)
from chalicelib.models.leads import NEW

# `operators` imports this module; used at call time only, so the cycle is harmless.
from chalicelib.routing import draw as distribution
from chalicelib.routing import waiting_line
from chalicelib.routing.transitions import append_events, assigned_actions, deadline_of, event, sla_deadline
from chalicelib.schemas.appeals import AppealCreate, AppealEvent, AppealHistory, AppealOut, OperatorRef
from chalicelib.schemas.common import Page

_LINE_KEY = ("appeal_id", "waiting_source_id", "waiting_key")
# A follow-up that races a new appeal's creation re-reads the marker at most this often.
_ATTACH_ATTEMPTS = 5


@dataclass(frozen=True)
class Intake:
    appeal: AppealOut
    created: bool


def to_out(row: Appeal) -> AppealOut:
    operator = OperatorRef(id=row.operator_id, name=row.operator_name or "") if row.operator_id else None
    return AppealOut(
        id=row.appeal_id,
        lead_id=row.lead_id,
        lead_external_id=row.lead_external_id,
        source_id=row.source_id,
        operator=operator,
        status=row.status,
        message=row.message,
        message_id=row.message_id,
        created_at=row.created_at,
        assigned_at=row.assigned_at,
        accepted_at=row.accepted_at,
        closed_at=row.closed_at,
        accept_by=deadline_of(row),
        reassign_count=int(row.reassign_count or 0),
        escalated=bool(row.escalated),
        message_count=int(row.message_count or 1),
        last_message_at=row.last_message_at or row.created_at,
    )


def get_appeal_row(appeal_id: str) -> Appeal:
    if not is_well_formed(appeal_id):
        raise NotFound.entity("appeal", appeal_id)
    try:
        return Appeal.get(appeal_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound.entity("appeal", appeal_id) from None


def get_appeal(appeal_id: str, viewer: Principal = SYSTEM) -> AppealOut:
    row = get_appeal_row(appeal_id)
    ensure_own_appeal(row, viewer)
    return to_out(row)


def get_history(appeal_id: str, viewer: Principal = SYSTEM) -> AppealHistory:
    row = get_appeal_row(appeal_id)
    ensure_own_appeal(row, viewer)
    events = [AppealEvent.model_validate_json(raw) for raw in row.events or []]
    return AppealHistory(appeal_id=row.appeal_id, status=row.status, events=events)


def submit_appeal(request: AppealCreate, *, rng: random.Random | None = None, viewer: Principal = SYSTEM) -> Intake:
    """Creates the appeal and hands it to an operator, or queues it as waiting.

    One transaction writes the appeal (with its decision record), upserts the
    lead (its id derives from the external id, so there is never a second
    lead), bumps the source's counters and, when someone is free, claims that
    operator's capacity. With a `message_id` the appeal id derives from
    (source, message), so a repeat hits the same key and returns the first
    appeal untouched. On a sticky source a message from a lead with an open
    appeal there attaches to it instead.
    """
    ensure_may_post_to(request.source_id, viewer)
    source = get_source_row(request.source_id)
    lead_id = lead_id_for(request.lead_external_id)
    if not source.sticky:
        return _create(source, request, lead_id, rng=rng)
    prefer = _last_operator(lead_id)
    marker_key = open_marker_key(lead_id, source.source_id)
    for _ in range(_ATTACH_ATTEMPTS):
        open_appeal_id = _open_appeal_id(marker_key)
        if open_appeal_id is not None:
            attached = _attach(open_appeal_id, source, request)
            if attached is not None:
                return Intake(attached, created=False)
        try:
            return _create(source, request, lead_id, rng=rng, prefer=prefer, marker=(marker_key, open_appeal_id))
        except _MarkerMoved:
            continue  # another message opened an appeal first: attach to that one
    raise ServiceBusy("this lead's conversation is changing too fast; retry shortly")


class _MarkerMoved(Exception):
    pass


def _create(
    source: Source,
    request: AppealCreate,
    lead_id: str,
    *,
    rng: random.Random | None,
    prefer: str | None = None,
    marker: tuple[str, str | None] | None = None,
) -> Intake:
    now = utc_now()
    at = iso(now)
    appeal_id = appeal_id_for_message(source.source_id, request.message_id) if request.message_id else new_id("ap")

    def appeal_row(decision: distribution.Decision) -> Appeal:
        appeal = Appeal(
            appeal_id,
            lead_id=lead_id,
            lead_external_id=request.lead_external_id,
            source_id=source.source_id,
            message=request.message,
            message_id=request.message_id,
            created_at=at,
            last_message_at=at,
            message_count=1,
            reassign_count=0,
        )
        winner = decision.winner
        if winner is None:
            appeal.status = WAITING
            appeal.waiting_source_id = source.source_id
            appeal.waiting_key = waiting_key(QUEUED_SEGMENT, at, appeal_id)
            appeal.events = [event("created", at), event("queued", at, decision=decision, reason="nobody_free")]
        else:
            appeal.status = ACTIVE
            appeal.assigned_at = at
            appeal.operator_id = winner.operator_id
            appeal.operator_name = winner.name
            appeal.operator_status_key = operator_status_key(ACTIVE, at, appeal_id)
            deadline = sla_deadline(source, now, appeal_id)
            if deadline is not None:
                appeal.sla_source_id, appeal.sla_due_at = source.source_id, deadline
            appeal.events = [
                event("created", at),
                event("assigned", at, decision=decision, operator_id=winner.operator_id),
            ]
        return appeal

    built: list[Appeal] = []

    def build(decision: distribution.Decision) -> Transaction:
        built[:] = [appeal_row(decision)]
        tx = Transaction()
        tx.put("appeal", built[0], condition=Appeal.appeal_id.does_not_exist())
        if marker is not None:
            key, previous = marker
            tx.put(
                "marker",
                OpenAppealMarker(key, open_appeal_id=appeal_id),
                condition=OpenAppealMarker.appeal_id.does_not_exist()
                if previous is None
                else OpenAppealMarker.open_appeal_id == previous,
            )
        tx.update(
            "lead",
            Lead(lead_id),
            _lead_upsert(request, at, decision.winner),
            condition=_same_person(request.lead_external_id),
        )
        counters = [Source.appeals_total.add(1)]
        if decision.winner is None:
            counters.append(Source.waiting_count.add(1))
        tx.update("source", Source(source.source_id), counters, condition=Source.source_id.exists())
        return tx

    try:
        decision = distribution.place(source, build, trigger="intake", prefer=prefer, rng=rng)
    except Cancelled as failure:
        if failure.failed("appeal"):
            return Intake(_existing_for_repeat(appeal_id, request), created=False)
        if failure.failed("marker"):
            raise _MarkerMoved from None
        if failure.failed("lead"):
            raise Conflict("this external id collides with another lead's; use a different one") from None
        if failure.failed("source"):
            raise NotFound.entity("source", request.source_id) from None
        raise ServiceBusy("could not record the appeal right now; retry shortly") from failure
    _log_created(appeal_id, lead_id, source.source_id, decision)
    return Intake(to_out(built[0]), created=True)


def _log_created(appeal_id: str, lead_id: str, source_id: str, decision: distribution.Decision) -> None:
    ids = {"appeal_id": appeal_id, "lead_id": lead_id, "source_id": source_id}
    logger.info("appeal received", extra=ids)
    count(APPEALS_RECEIVED)
    if decision.winner is None:
        logger.info("appeal waiting", extra={**ids, "reason": "nobody_free", "trigger": decision.trigger})
        count(APPEALS_WAITING)
        return
    logger.info(
        "appeal assigned",
        extra={
            **ids,
            "operator_id": decision.winner.operator_id,
            "how": decision.how,
            "trigger": decision.trigger,
            "lost_races": len(decision.lost_races),
        },
    )
    count(APPEALS_ASSIGNED)


def _lead_upsert(request: AppealCreate, now: str, winner: distribution.Candidate | None) -> list:
    actions = [
        Lead.external_id.set(request.lead_external_id),
        Lead.listed.set(LISTED),
        Lead.created_at.set(Lead.created_at | now),
        Lead.updated_at.set(now),
        Lead.appeals_count.add(1),
        Lead.source_id.set(Lead.source_id | request.source_id),
        Lead.stage.set(Lead.stage | NEW),
        Lead.stage_changed_at.set(Lead.stage_changed_at | now),
        Lead.message_count.add(1),
        *scoring_inputs_changed(now),
    ]
    if winner is not None:
        actions.append(Lead.last_operator_id.set(winner.operator_id))
    contacts = ((Lead.name, request.lead_name), (Lead.phone, request.lead_phone), (Lead.email, request.lead_email))
    actions.extend(attribute.set(value) for attribute, value in contacts if value is not None)
    return actions


def _same_person(external_id: str):
    # The id is a hash of the external id; refuse the astronomically unlikely
    # collision instead of merging two people.
    return Lead.lead_id.does_not_exist() | (Lead.external_id == external_id)


def _existing_for_repeat(appeal_id: str, request: AppealCreate) -> AppealOut:
    existing = get_appeal(appeal_id)
    if existing.lead_external_id != request.lead_external_id:
        raise Conflict(f"message_id {request.message_id!r} was already used on this source for a different lead")
    return existing


def _last_operator(lead_id: str) -> str | None:
    try:
        return Lead.get(lead_id, consistent_read=True, attributes_to_get=["last_operator_id"]).last_operator_id
    except DoesNotExist:
        return None


def _open_appeal_id(marker_key: str) -> str | None:
    try:
        return OpenAppealMarker.get(marker_key, consistent_read=True).open_appeal_id
    except DoesNotExist:
        return None


def _attach(appeal_id: str, source: Source, request: AppealCreate, backoff: Backoff | None = None) -> AppealOut | None:
    """Counts a follow-up message on the lead's open appeal, and on the lead
    (a scoring input), in one transaction; None when that appeal has closed."""
    message_key = appeal_id_for_message(source.source_id, request.message_id) if request.message_id else None
    if message_key == appeal_id:
        return get_appeal(appeal_id)  # the message that opened it, redelivered
    now = iso(utc_now())
    actions = [Appeal.message_count.add(1), Appeal.last_message_at.set(now)]
    condition = Appeal.status.is_in(WAITING, ACTIVE)
    if message_key is not None:
        actions.append(Appeal.attached_message_hashes.add({message_key}))
        condition &= ~Appeal.attached_message_hashes.contains(message_key)
    tx = Transaction()
    tx.update("appeal", Appeal(appeal_id), actions, condition=condition)
    tx.update(
        "lead",
        Lead(lead_id_for(request.lead_external_id)),
        [Lead.message_count.add(1), Lead.updated_at.set(now), *scoring_inputs_changed(now)],
        condition=Lead.lead_id.exists(),
    )
    try:
        commit_with_retry(tx, backoff)
    except Cancelled as failure:
        if not failure.failed("appeal"):
            raise
        current = get_appeal_row(appeal_id)
        if message_key is not None and message_key in (current.attached_message_hashes or ()):
            return to_out(current)  # this very message was attached before: a redelivery
        return None if current.status == CLOSED else to_out(current)
    logger.info("follow-up message attached", extra={"appeal_id": appeal_id, "source_id": source.source_id})
    return get_appeal(appeal_id)


def assign_appeal(appeal_id: str, operator_id: str, backoff: Backoff | None = None) -> AppealOut:
    """A person hands a waiting (or escalated) appeal to the operator they chose.

    The operator must be active and below its limit (the same claim as any
    assignment) but need not serve the source, and may be one who let it lapse.
    """
    backoff = backoff or Backoff()
    operator = operators.get_operator_row(operator_id)
    for attempt in range(backoff.attempts):
        row = get_appeal_row(appeal_id)
        if row.status != WAITING:
            raise Conflict(f"appeal {appeal_id} is {row.status}; only a waiting appeal can be assigned by hand")
        source = get_source_row(row.source_id)
        now = utc_now()
        chosen = distribution.Candidate(operator_id, operator.name, 0, True, 0, 0)
        tx = Transaction()
        tx.update(
            "appeal",
            Appeal(appeal_id),
            [
                *assigned_actions(row, source, chosen, now),
                Appeal.escalated.remove(),
                append_events(event("assigned", iso(now), operator_id=operator_id, reason="assigned_by_hand")),
            ],
            condition=(Appeal.status == WAITING) & (Appeal.waiting_key == row.waiting_key),
        )
        tx.update("source", Source(row.source_id), [Source.waiting_count.add(-1)])
        tx.update("lead", Lead(row.lead_id), [Lead.last_operator_id.set(operator_id)], condition=Lead.lead_id.exists())
        distribution.add_claim(tx, row.source_id, operator_id, serving=False)
        try:
            tx.commit()
        except Cancelled as failure:
            if failure.failed("operator"):
                raise Conflict(f"operator {operator_id} is inactive or at its max_load") from None
            if not failure.failed("appeal") and not failure.contended:
                raise
            backoff.sleep(attempt)  # it moved (or the rows are busy): look again
            continue
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
        return get_appeal(appeal_id)
    raise ServiceBusy("appeal is changing too fast to assign; retry shortly")


def list_waiting(source_id: str, escalated: bool, limit: int, cursor: str | None) -> Page[AppealOut]:
    """A source's line, oldest first: the queue the drains serve, or the escalated appeals."""
    get_source_row(source_id)
    segment = ESCALATED_SEGMENT if escalated else QUEUED_SEGMENT
    start, _ = decode_cursor(cursor, _LINE_KEY, pinned={"waiting_source_id": source_id})
    if start is not None and not start["waiting_key"]["S"].startswith(f"{segment}#"):
        raise MalformedInput("this cursor belongs to another listing")
    rows, last = take_rows_page(
        lambda **kw: Appeal.waiting_by_source.query(
            source_id, range_key_condition=Appeal.waiting_key.startswith(f"{segment}#"), **kw
        ),
        Appeal,
        limit,
        start,
    )
    return Page[AppealOut](items=[to_out(row) for row in rows], next=encode_cursor(last))


def accept_appeal(
    appeal_id: str, operator_id: str, backoff: Backoff | None = None, viewer: Principal = SYSTEM
) -> AppealOut:
    """The assigned operator acknowledges the appeal, which stops its SLA clock."""
    ensure_acting_as_self(operator_id, viewer)
    backoff = backoff or Backoff()
    for attempt in range(backoff.attempts):
        row = get_appeal_row(appeal_id)
        ensure_own_appeal(row, viewer)
        if row.status != ACTIVE or row.operator_id != operator_id:
            whose = "nobody" if row.operator_id is None else "another operator"
            raise Conflict(f"appeal {appeal_id} is {row.status} and assigned to {whose}; only its operator may accept")
        if row.accepted_at is not None:
            return to_out(row)  # accepting twice changes nothing
        now = iso(utc_now())
        try:
            row.update(
                actions=[
                    Appeal.accepted_at.set(now),
                    Appeal.sla_source_id.remove(),
                    Appeal.sla_due_at.remove(),
                    append_events(event("accepted", now, operator_id=operator_id)),
                ],
                condition=(Appeal.status == ACTIVE)
                & (Appeal.operator_id == operator_id)
                & Appeal.accepted_at.does_not_exist(),
            )
            accepted = {"appeal_id": appeal_id, "source_id": row.source_id, "operator_id": operator_id}
            logger.info("appeal accepted", extra=accepted)
            return to_out(row)
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                continue  # reassigned or closed meanwhile: look again
            if not is_contention(exc):
                raise
            backoff.sleep(attempt)
    raise ServiceBusy("appeal is changing too fast to accept; retry shortly")


def close_appeal(appeal_id: str, *, backoff: Backoff | None = None, viewer: Principal = SYSTEM) -> AppealOut:
    """Closes an active or waiting appeal; an active one frees its operator's
    slot, which goes straight to the oldest waiting appeal it can take."""
    backoff = backoff or Backoff()
    for attempt in range(backoff.attempts):
        row = get_appeal_row(appeal_id)
        ensure_own_appeal(row, viewer)
        if row.status == CLOSED:
            raise Conflict(f"appeal {appeal_id} is already closed")
        now = iso(utc_now())
        tx = Transaction()
        closing = [Appeal.status.set(CLOSED), Appeal.closed_at.set(now)]
        if row.status == ACTIVE:
            tx.update(
                "appeal",
                Appeal(appeal_id),
                [
                    *closing,
                    Appeal.operator_status_key.set(operator_status_key(CLOSED, row.created_at, appeal_id)),
                    Appeal.sla_source_id.remove(),
                    Appeal.sla_due_at.remove(),
                    append_events(event("closed", now, operator_id=row.operator_id)),
                ],
                condition=(Appeal.status == ACTIVE) & (Appeal.operator_id == row.operator_id),
            )
            distribution.add_release(tx, row.source_id, row.operator_id)
        else:
            tx.update(
                "appeal",
                Appeal(appeal_id),
                [
                    *closing,
                    Appeal.waiting_source_id.remove(),
                    Appeal.waiting_key.remove(),
                    append_events(event("closed", now)),
                ],
                condition=(Appeal.status == WAITING) & (Appeal.waiting_key == row.waiting_key),
            )
            tx.update("source", Source(row.source_id), [Source.waiting_count.add(-1)])
        try:
            tx.commit()
        except Cancelled as failure:
            if failure.failed("appeal"):
                continue  # it moved under us (closed, drained, reassigned): look again
            if failure.failed("operator") or failure.failed("weight"):
                raise RuntimeError(f"load counter for appeal {appeal_id} is already zero") from failure
            if not failure.contended:
                raise
            backoff.sleep(attempt)
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
        if row.status == ACTIVE:
            waiting_line.drain_after_release(row.operator_id)
        row.status, row.closed_at, row.sla_due_at = CLOSED, now, None
        return to_out(row)
    raise ServiceBusy("appeal is changing too fast to close; retry shortly")
