"""Appeal intake: a message becomes an appeal (idempotent, sticky-aware),
handed to an operator or queued, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.access.ownership import ensure_may_post_to
from chalicelib.core.errors import Conflict, FieldProblem, InvalidInput, ServiceBusy
from chalicelib.core.ids import appeal_id_for_message, iso, lead_id_for, new_id, utc_now
from chalicelib.core.observability import APPEALS_ASSIGNED, APPEALS_RECEIVED, APPEALS_WAITING, count, logger
from chalicelib.db.retry import tries
from chalicelib.db.tables import LISTED
from chalicelib.db.transactions import Cancelled, Transaction, commit_with_retry
from chalicelib.models.appeals import (
    CLOSED,
    Appeal,
    OpenAppealMarker,
    Trigger,
    appeal_for_message,
    get_appeal_row,
    open_appeal_id,
    open_marker_key,
)
from chalicelib.models.leads import (
    NEW,
    Lead,
    LeadContacts,
    contacts_key,
    last_operator_of,
    lead_score,
    lead_standing,
)
from chalicelib.routing import conversation, counters, transitions
from chalicelib.routing.capacity import Pool, place, skill_need
from chalicelib.routing.line_order import LineMode, Priority, line_key, stored_line_order
from chalicelib.routing.source_cache import source_cache
from chalicelib.routing.views import appeal_out

if TYPE_CHECKING:
    import random
    from datetime import datetime

    from pynamodb.expressions.update import Action

    from chalicelib.access.principal import Principal
    from chalicelib.db.retry import RetryPolicy
    from chalicelib.models.sources import Source
    from chalicelib.routing.draw import Decision
    from chalicelib.schemas.appeals import AppealCreate, AppealOut

__all__ = ["Intake", "submit_appeal"]

MARKER = "marker"
CONTACTS = "contacts"


@dataclass(frozen=True)
class Intake:
    appeal: AppealOut
    created: bool


class _MarkerMoved(Exception):
    pass


def submit_appeal(
    request: AppealCreate,
    *,
    viewer: Principal,
    rng: random.Random | None = None,
    policy: RetryPolicy | None = None,
    source: Source | None = None,
) -> Intake:
    """Creates the appeal and hands it to an operator, or queues it as waiting.

    One transaction writes the appeal (with its decision record), upserts the
    lead (its id derives from the external id, so there is never a second
    lead) and, when someone is free, claims that operator's capacity. It
    writes no per-source item: the source's totals come from the stream. With a `message_id` the appeal id derives from
    (source, message), so a repeat hits the same key and returns the first
    appeal untouched. On a sticky source a message from a lead with an open
    appeal there attaches to it instead. `source` is its row when the caller
    has just read it (the queue, checking a signature).
    """
    ensure_may_post_to(request.source_id, viewer)
    if source is None or source.source_id != request.source_id:
        source = source_cache.source(request.source_id)  # settings may be a few seconds old: see source_cache
    _ensure_namespace(source, request.lead_external_id)
    lead_id = lead_id_for(request.lead_external_id)
    if not source.sticky:
        return _create(source, request, lead_id, rng=rng)
    prefer = last_operator_of(lead_id)
    marker_key = open_marker_key(lead_id, source.source_id)
    for _ in tries(policy):
        open_id = open_appeal_id(marker_key)
        if open_id is not None:
            attached = _attach(open_id, source, request)
            if attached is not None:
                return Intake(attached, created=False)
        try:
            return _create(source, request, lead_id, rng=rng, prefer=prefer, marker=(marker_key, open_id))
        except _MarkerMoved:
            continue  # another message opened an appeal first: attach to that one
    raise ServiceBusy("this lead's conversation is changing too fast; retry shortly")


def _ensure_namespace(source: Source, external_id: str) -> None:
    """A source speaks only for the people of its own channels: a web form's key is not a Telegram user."""
    prefixes = list(source.external_id_prefixes or ())
    if prefixes and not external_id.startswith(tuple(prefixes)):
        problem = FieldProblem(
            ("body", "lead_external_id"),
            f"this source accepts external ids starting with {', '.join(prefixes)}",
            "namespace",
        )
        raise InvalidInput("lead_external_id is outside this source's namespaces", [problem])


def _draft(appeal_id: str, lead_id: str, source: Source, request: AppealCreate, at: str) -> Appeal:
    """The appeal before it exists: what it is about, no state yet."""
    return Appeal(
        appeal_id,
        lead_id=lead_id,
        lead_external_id=request.lead_external_id,
        source_id=source.source_id,
        message=request.message,
        message_id=request.message_id,
        created_at=at,
        required_tags=set(request.required_tags) or None,
        vip=True if request.vip else None,
    )


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
    draft = _draft(appeal_id, lead_id, source, request, at)
    built: list[Appeal] = []

    def build(decision: Decision) -> Transaction:
        tx = Transaction()
        _upsert_lead(tx, lead_id, request, at)
        if marker is not None:
            _claim_marker(tx, marker, appeal_id)
        built[:] = [_place_new(tx, draft, source, decision, now, standing)]
        # The conversation's first message: one more item in the same transaction, not another request.
        conversation.add_message(tx, conversation.inbound(appeal_id, 1, _inbound(request), at))
        return tx

    # A priority line places a waiting appeal by its lead's standing: read once, only if it waits.
    standing = _Standing(source, lead_id, request)
    try:
        # Score-aware sources only: a returning lead's score (one GetItem) may weigh conversion in.
        score = lead_score(lead_id) if source.score_aware else None
        pool = Pool(source.source_id, cached_weights=True)
        decision = place(
            source,
            build,
            trigger=Trigger.INTAKE,
            pool=pool,
            prefer=prefer,
            rng=rng,
            lead_score=score,
            skills=skill_need(source, request.required_tags),
        )
    except Cancelled as failure:
        return _refused(failure, appeal_id, request)
    _log_created(appeal_id, lead_id, source.source_id, decision)
    return Intake(appeal_out(built[0]), created=True)


def _inbound(request: AppealCreate) -> conversation.Inbound:
    return conversation.Inbound(
        text=request.message,
        sender=request.lead_external_id,
        channel_message_id=request.message_id,
        media=request.media,
    )


class _Standing:
    """What a priority line places a new appeal by: its VIP flag, and its lead's score and
    whether it is returning (one GetItem, made the first time a draw found nobody free)."""

    def __init__(self, source: Source, lead_id: str, request: AppealCreate) -> None:
        self.order = stored_line_order(source.line_order)
        self._lead_id, self._vip = lead_id, request.vip
        self._priority: Priority | None = None

    def line_key(self, arrival: datetime, appeal_id: str) -> str | None:
        """The waiting key (None: fifo, the transition's own `queued#<arrival>#<id>`)."""
        if self.order.mode is not LineMode.PRIORITY:
            return None
        if self._priority is None:
            score, appeals = lead_standing(self._lead_id)
            self._priority = Priority(score=score, returning=appeals > 0, vip=self._vip)
        return line_key(self.order, arrival, appeal_id, self._priority)


def _place_new(
    tx: Transaction, draft: Appeal, source: Source, decision: Decision, now: datetime, standing: _Standing
) -> Appeal:
    if decision.winner is None:
        key = standing.line_key(now, draft.appeal_id)
        return transitions.queue(tx, draft, now=now, decision=decision, line_key=key)
    return transitions.hand_to_operator(tx, draft, source, decision.winner, now=now, decision=decision)


def _claim_marker(tx: Transaction, marker: tuple[str, str | None], appeal_id: str) -> None:
    """The (lead, source) pair's open appeal becomes this one, if it still is the one we read."""
    key, previous = marker
    tx.put(
        MARKER,
        OpenAppealMarker(key, open_appeal_id=appeal_id),
        condition=OpenAppealMarker.appeal_id.does_not_exist()
        if previous is None
        else OpenAppealMarker.open_appeal_id == previous,
    )


def _refused(failure: Cancelled, appeal_id: str, request: AppealCreate) -> Intake:
    if failure.failed(transitions.APPEAL):
        return Intake(_existing_for_repeat(appeal_id, request), created=False)
    if failure.failed(MARKER):
        raise _MarkerMoved from None
    if failure.failed(counters.LEAD):
        raise Conflict("this external id collides with another lead's; use a different one") from None
    raise ServiceBusy("could not record the appeal right now; retry shortly") from failure


def _upsert_lead(tx: Transaction, lead_id: str, request: AppealCreate, at: str) -> None:
    """Creates the lead on its first appeal. A contact field is filled only
    while it is empty: what a person or another source set is never
    overwritten; what this source collected is kept in its own record."""
    actions: list[Action] = [
        Lead.external_id.set(request.lead_external_id),
        Lead.listed.set(LISTED),
        Lead.created_at.set(Lead.created_at | at),
        Lead.source_id.set(Lead.source_id | request.source_id),
        Lead.source_ids.add({request.source_id}),
        Lead.stage.set(Lead.stage | NEW),
        Lead.stage_changed_at.set(Lead.stage_changed_at | at),
    ]
    contacts = ((Lead.name, request.lead_name), (Lead.phone, request.lead_phone), (Lead.email, request.lead_email))
    actions.extend(attribute.set(attribute | value) for attribute, value in contacts if value is not None)
    # A handle and a language change with the person: the latest message says what they are now.
    handles = ((Lead.username, request.lead_username), (Lead.language_code, request.lead_language_code))
    actions.extend(attribute.set(value) for attribute, value in handles if value is not None)
    _record_contacts(tx, lead_id, request, at)
    # The id is a hash of the external id; refuse the astronomically unlikely
    # collision instead of merging two people.
    same_person = Lead.lead_id.does_not_exist() | (Lead.external_id == request.lead_external_id)
    tx.update(counters.LEAD, Lead(lead_id), actions, condition=same_person)
    counters.add_lead_message(tx, lead_id, at, opens_appeal=True)


def _record_contacts(tx: Transaction, lead_id: str, request: AppealCreate, at: str) -> None:
    """This source's own record of the lead's contacts (each source writes only its own)."""
    given = {
        "name": request.lead_name,
        "phone": request.lead_phone,
        "email": request.lead_email,
        "username": request.lead_username,
        "language_code": request.lead_language_code,
        "chat_id": request.lead_chat_id,
    }
    given = {name: value for name, value in given.items() if value is not None}
    if not given:
        return
    record = LeadContacts(contacts_key(lead_id, request.source_id))
    actions: list[Action] = [getattr(LeadContacts, name).set(value) for name, value in given.items()]
    actions += [LeadContacts.contact_source_id.set(request.source_id), LeadContacts.updated_at.set(at)]
    tx.update(CONTACTS, record, actions)


def _log_created(appeal_id: str, lead_id: str, source_id: str, decision: Decision) -> None:
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


def _existing_for_repeat(appeal_id: str, request: AppealCreate) -> AppealOut:
    existing = appeal_for_message(appeal_id)  # the appeal it made, or the one it was attached to
    if existing.lead_external_id != request.lead_external_id:
        raise Conflict(f"message_id {request.message_id!r} was already used on this source for a different lead")
    return appeal_out(existing)


def _attach(appeal_id: str, source: Source, request: AppealCreate) -> AppealOut | None:
    """Appends a follow-up message to the lead's open appeal, and counts it on
    the lead (a scoring input), in one transaction; None when that appeal has closed."""
    message_key = appeal_id_for_message(source.source_id, request.message_id) if request.message_id else None
    lead_id = lead_id_for(request.lead_external_id)
    for _ in tries(None):
        row = get_appeal_row(appeal_id)
        if message_key == appeal_id:
            return appeal_out(row)  # the message that opened it, redelivered
        if row.status == CLOSED:
            return None
        tx = Transaction()
        after = transitions.attach_message(tx, row, lead_id, _inbound(request), message_key=message_key, now=utc_now())
        _update_handles(tx, lead_id, request)
        try:
            commit_with_retry(tx)
        except Cancelled as failure:
            if message_key is not None and failure.failed(transitions.ALIAS):
                return _existing_for_repeat(message_key, request)  # this very message was seen before: a redelivery
            if failure.failed(transitions.APPEAL) or failure.failed(conversation.MESSAGE):
                continue  # closed, or another message took this place in the conversation: look again
            raise
        logger.info("follow-up message attached", extra={"appeal_id": appeal_id, "source_id": source.source_id})
        return appeal_out(after)
    raise ServiceBusy("this lead's conversation is changing too fast; retry shortly")


def _update_handles(tx: Transaction, lead_id: str, request: AppealCreate) -> None:
    """A follow-up may come with a new handle or chat: this source's record keeps the latest."""
    if request.lead_username or request.lead_language_code or request.lead_chat_id:
        _record_contacts(tx, lead_id, request, iso(utc_now()))
