"""Appeal intake (idempotent), reading and closing."""

from __future__ import annotations

import random
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from chalicelib.errors import Conflict, NotFound, ServiceBusy
from chalicelib.ids import appeal_id_for_message, is_well_formed, iso, lead_id_for, new_id, utc_now
from chalicelib.models import Appeal, Lead, Source
from chalicelib.models.appeals import ACTIVE, CLOSED, WAITING, operator_status_key
from chalicelib.models.base import LISTED
from chalicelib.schemas.appeals import AppealCreate, AppealOut, OperatorRef
from chalicelib.services import distribution
from chalicelib.services.sources import get_source_row
from chalicelib.services.transactions import Backoff, Cancelled, Transaction


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
        closed_at=row.closed_at,
    )


def get_appeal_row(appeal_id: str) -> Appeal:
    if not is_well_formed(appeal_id):
        raise NotFound.entity("appeal", appeal_id)
    try:
        return Appeal.get(appeal_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound.entity("appeal", appeal_id) from None


def get_appeal(appeal_id: str) -> AppealOut:
    return to_out(get_appeal_row(appeal_id))


def submit_appeal(request: AppealCreate, *, rng: random.Random | None = None) -> Intake:
    """Creates the appeal and hands it to an operator, or queues it as waiting.

    One transaction writes the appeal, upserts the lead (its id derives from
    the external id, so there is never a second lead), bumps the source's
    counters and, when someone is free, claims that operator's capacity. With
    a `message_id` the appeal id derives from (source, message), so a repeat
    hits the same key and returns the first appeal untouched.
    """
    source = get_source_row(request.source_id)
    now = iso(utc_now())
    appeal_id = appeal_id_for_message(source.source_id, request.message_id) if request.message_id else new_id("ap")
    lead_id = lead_id_for(request.lead_external_id)

    def appeal_row(chosen: distribution.Candidate | None) -> Appeal:
        appeal = Appeal(
            appeal_id,
            lead_id=lead_id,
            lead_external_id=request.lead_external_id,
            source_id=source.source_id,
            message=request.message,
            message_id=request.message_id,
            created_at=now,
        )
        if chosen is None:
            appeal.status = WAITING
            appeal.waiting_source_id = source.source_id
            appeal.waiting_since = f"{now}#{appeal_id}"
        else:
            appeal.status = ACTIVE
            appeal.assigned_at = now
            appeal.operator_id = chosen.operator_id
            appeal.operator_name = chosen.name
            appeal.operator_status_key = operator_status_key(ACTIVE, now, appeal_id)
        return appeal

    def build(chosen: distribution.Candidate | None) -> Transaction:
        tx = Transaction()
        tx.put("appeal", appeal_row(chosen), condition=Appeal.appeal_id.does_not_exist())
        tx.update("lead", Lead(lead_id), _lead_upsert(request, now), condition=_same_person(request.lead_external_id))
        counters = [Source.appeals_total.add(1)]
        if chosen is None:
            counters.append(Source.waiting_count.add(1))
        tx.update("source", Source(source.source_id), counters, condition=Source.source_id.exists())
        return tx

    try:
        chosen = distribution.place(source, build, rng=rng)
    except Cancelled as failure:
        if failure.failed("appeal"):
            return Intake(_existing_for_repeat(appeal_id, request), created=False)
        if failure.failed("lead"):
            raise Conflict("this external id collides with another lead's; use a different one") from None
        if failure.failed("source"):
            raise NotFound.entity("source", request.source_id) from None
        raise ServiceBusy("could not record the appeal right now; retry shortly") from failure
    return Intake(to_out(appeal_row(chosen)), created=True)


def _lead_upsert(request: AppealCreate, now: str) -> list:
    actions = [
        Lead.external_id.set(request.lead_external_id),
        Lead.listed.set(LISTED),
        Lead.created_at.set(Lead.created_at | now),
        Lead.updated_at.set(now),
        Lead.appeals_count.add(1),
    ]
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


def close_appeal(appeal_id: str, *, backoff: Backoff | None = None) -> AppealOut:
    """Closes an active or waiting appeal; an active one frees its operator's slot."""
    backoff = backoff or Backoff()
    for attempt in range(backoff.attempts):
        row = get_appeal_row(appeal_id)
        if row.status == CLOSED:
            raise Conflict(f"appeal {appeal_id} is already closed")
        now = iso(utc_now())
        tx = Transaction()
        if row.status == ACTIVE:
            tx.update(
                "appeal",
                Appeal(appeal_id),
                [
                    Appeal.status.set(CLOSED),
                    Appeal.closed_at.set(now),
                    Appeal.operator_status_key.set(operator_status_key(CLOSED, row.created_at, appeal_id)),
                ],
                condition=(Appeal.status == ACTIVE) & (Appeal.operator_id == row.operator_id),
            )
            distribution.add_release(tx, row.source_id, row.operator_id)
        else:
            tx.update(
                "appeal",
                Appeal(appeal_id),
                [
                    Appeal.status.set(CLOSED),
                    Appeal.closed_at.set(now),
                    Appeal.waiting_source_id.remove(),
                    Appeal.waiting_since.remove(),
                ],
                condition=Appeal.status == WAITING,
            )
            tx.update("source", Source(row.source_id), [Source.waiting_count.add(-1)])
        try:
            tx.commit()
            row.status, row.closed_at = CLOSED, now
            return to_out(row)
        except Cancelled as failure:
            if failure.failed("appeal"):
                continue  # it moved under us (closed, drained, reassigned): look again
            if failure.failed("operator") or failure.failed("weight"):
                raise RuntimeError(f"load counter for appeal {appeal_id} is already zero") from failure
            if not failure.contended:
                raise
            backoff.sleep(attempt)
    raise ServiceBusy("appeal is changing too fast to close; retry shortly")
