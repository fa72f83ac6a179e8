"""Leads: one per external id, across every channel, and their moves through the funnel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.access.ownership import visible_lead_sources
from chalicelib.core.errors import Conflict, Forbidden, NotFound
from chalicelib.core.ids import iso, lead_id_for, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.history import append_to
from chalicelib.db.retry import tries
from chalicelib.db.rows import ensure_well_formed
from chalicelib.db.transactions import update_existing, update_if
from chalicelib.funnel.lead_state import lead_event, scoring_inputs_changed, scoring_settled
from chalicelib.funnel.stages import FINAL_LEAD_STAGES, allowed_moves, lead_at, stage_of, stage_refusal
from chalicelib.models.leads import (
    LEAD_PREFIX,
    Lead,
    LeadContacts,
    LeadEventType,
    LeadStage,
    get_lead_row,
    lead_contacts,
    leads_in_stage,
    leads_newest_first,
)
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import FactorOut, LeadEvent, LeadHistory, LeadOut, SourceContacts

if TYPE_CHECKING:
    from pynamodb.expressions.update import Action

    from chalicelib.access.principal import Principal
    from chalicelib.db.retry import RetryPolicy
    from chalicelib.schemas.leads import LeadPatch

__all__ = ["as_seen_by", "change_stage", "get_history", "get_lead", "lead_out", "list_leads", "update_lead"]

# Fields of a lead's patch that the scorers read.
_SCORING_INPUTS = frozenset({"business_domain"})


_CONTACT_FIELDS = ("name", "phone", "email", "username", "language_code")


def lead_out(row: Lead, contacts: list[SourceContacts] | None = None, *, own_fields: bool = True) -> LeadOut:
    """`own_fields=False` (an operator's view): name, phone and e-mail come from `contacts` only."""
    scored = row.scored_at is not None
    shown = {name: getattr(row, name) for name in _CONTACT_FIELDS}
    if not own_fields:
        shown = {name: next((getattr(c, name) for c in contacts or () if getattr(c, name)), None) for name in shown}
    return LeadOut(
        id=row.lead_id,
        external_id=row.external_id,
        **shown,
        business_domain=row.business_domain,
        source_id=row.source_id,
        stage=stage_of(row),
        stage_changed_at=row.stage_changed_at,
        appeals_count=int(row.appeals_count),
        message_count=int(row.message_count or 0),
        ai_score=None if row.ai_score is None else float(row.ai_score),
        ai_recommendation=row.ai_recommendation,
        ai_reason=row.ai_reason,
        ai_factors=[FactorOut(feature=f.feature, contribution=float(f.contribution)) for f in (row.ai_factors or [])],
        scored_at=row.scored_at,
        model_version=row.model_version,
        score_fallback_reason=row.score_fallback_reason,
        score_stale=scored and row.rescore_due is not None,
        deal_id=row.deal_id,
        contacts=contacts or [],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get_lead(lead_id: str, *, viewer: Principal) -> LeadOut:
    """An admin sees the lead, and what every source collected (with where it
    differs from the lead's own fields); an operator sees only what the
    sources of its own appeals collected. Not visible: NotFound, like a missing lead."""
    visible = visible_lead_sources(lead_id, viewer)
    row = get_lead_row(lead_id)
    records = lead_contacts(lead_id, lead_sources_of(row) if visible is None else visible)
    admin = visible is None
    return lead_out(row, [_source_contacts(row, record, admin) for record in records], own_fields=admin)


def lead_sources_of(row: Lead) -> list[str]:
    # The first source first: its record is what the lead's own fields were filled from.
    rest = sorted(set(row.source_ids or ()) - {row.source_id})
    return [row.source_id, *rest] if row.source_id else rest


def _source_contacts(row: Lead, record: LeadContacts, admin: bool) -> SourceContacts:
    # Differences are for admins: an operator must not learn that other sources know more.
    differs = [
        name
        for name in _CONTACT_FIELDS
        if admin and getattr(record, name) is not None and getattr(row, name) not in (None, getattr(record, name))
    ]
    return SourceContacts(
        source_id=record.contact_source_id,
        name=record.name,
        phone=record.phone,
        email=record.email,
        username=record.username,
        language_code=record.language_code,
        differs=differs,
    )


def list_leads(
    limit: int, cursor: str | None, external_id: str | None = None, stage: LeadStage | None = None
) -> Page[LeadOut]:
    """Newest first, or a stage's leads latest change first; `external_id`
    finds the one lead (or none) with one GetItem."""
    if external_id is not None:
        try:
            found = lead_out(get_lead_row(lead_id_for(external_id)))
        except NotFound:
            return Page[LeadOut](items=[], next=None)
        return Page[LeadOut](items=[found] if stage in (None, found.stage) else [], next=None)
    if stage is None:
        rows, following = leads_newest_first(limit, cursor)
    else:
        rows, following = leads_in_stage(stage, limit, cursor)
        # The index trails the table a little: a lead that just moved on is not listed.
        rows = [row for row in rows if stage_of(row) == stage]
    return Page[LeadOut](items=[lead_out(row) for row in rows], next=following)


# What an operator may change on the lead of its own appeal: contact details are the sources' and admins'.
_OPERATOR_FIELDS = frozenset({"business_domain"})


def as_seen_by(row: Lead, viewer: Principal) -> LeadOut:
    """The lead as the viewer may see it after a change: an admin every source's record, an operator its own."""
    if viewer.is_admin:
        return lead_out(row, [_source_contacts(row, r, True) for r in lead_contacts(row.lead_id, lead_sources_of(row))])
    return get_lead(row.lead_id, viewer=viewer)


def update_lead(lead_id: str, patch: LeadPatch, *, viewer: Principal) -> LeadOut:
    """Contact details and business domain. A changed business domain is a
    scoring input: the lead is marked for the rescoring job. An operator may set
    the business domain of its own appeals' leads (another lead: NotFound)."""
    ensure_well_formed(lead_id, "lead", LEAD_PREFIX)
    changes = patch.changes()
    if not viewer.is_admin:
        visible_lead_sources(lead_id, viewer)
        if changes.keys() - _OPERATOR_FIELDS:
            raise Forbidden("an operator may set only business_domain; contact details are an admin's")
    now = iso(utc_now())
    actions: list[Action] = [
        getattr(Lead, name).set(value) if value is not None else getattr(Lead, name).remove()
        for name, value in changes.items()
    ]
    actions.append(Lead.updated_at.set(now))
    if _SCORING_INPUTS & changes.keys():
        actions += scoring_inputs_changed(now)
    row = Lead(lead_id)
    update_existing(row, actions, "lead")
    # Which fields, never their values: they are the lead's contacts.
    logger.info("lead updated", extra={"lead_id": lead_id, "fields": sorted(changes), "role": viewer.role})
    # As GET /leads/{id} shows it to the viewer (an admin: the sources' records, and where they now differ).
    return as_seen_by(row, viewer)


def _stage_move(current: LeadStage, wanted: LeadStage, now: str) -> list[Action]:
    return [
        Lead.stage.set(wanted),
        Lead.stage_changed_at.set(now),
        Lead.updated_at.set(now),
        append_to(Lead.events, lead_event(LeadEventType.STAGE_CHANGED, now, from_stage=current, to_stage=wanted)),
        # A final lead is never rescored; any other stage is a scoring input.
        # Either way the version moves, so no score read before this lands after it.
        *(
            [Lead.inputs_version.add(1), *scoring_settled()]
            if wanted in FINAL_LEAD_STAGES
            else scoring_inputs_changed(now)
        ),
    ]


def change_stage(lead_id: str, wanted: LeadStage, *, viewer: Principal, policy: RetryPolicy | None = None) -> LeadOut:
    """One step forward, or to `lost` from any non-final stage. The write is
    conditional on the stage it was read at, so two people moving the same
    lead at once cannot both succeed from the same stage. An operator moves
    only the leads of its own appeals (another lead: NotFound)."""
    wanted = LeadStage(wanted)
    visible_lead_sources(lead_id, viewer)
    for _ in tries(policy):
        row = get_lead_row(lead_id, consistent=True)
        current = stage_of(row)
        if wanted not in allowed_moves(current):
            raise stage_refusal(lead_id, current, wanted)
        if update_if(row, _stage_move(current, wanted, iso(utc_now())), lead_at(current), "lead", policy):
            logger.info(
                "lead stage changed",
                extra={"lead_id": lead_id, "from_stage": current, "to_stage": wanted, "role": viewer.role},
            )
            return lead_out(row) if viewer.is_admin else get_lead(lead_id, viewer=viewer)
        # Someone moved it meanwhile: judge the move against the new stage.
    raise Conflict(f"lead {lead_id} is changing stage too fast; read it and retry")


def get_history(lead_id: str) -> LeadHistory:
    row = get_lead_row(lead_id, consistent=True)
    events = [LeadEvent.model_validate_json(raw) for raw in (row.events or [])]
    return LeadHistory(lead_id=lead_id, events=events)
