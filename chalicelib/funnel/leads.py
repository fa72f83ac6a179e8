"""Leads: one per external id, across every channel, and their funnel."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.access.ownership import ensure_lead_visible
from chalicelib.access.principal import SYSTEM, Principal
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.ids import is_well_formed, iso, lead_id_for, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.history import append_to
from chalicelib.db.paging import decode_cursor, encode_cursor, take_page, take_rows_page
from chalicelib.db.tables import LISTED
from chalicelib.db.transactions import update_existing, update_if
from chalicelib.funnel.lead_state import lead_event, scoring_inputs_changed, scoring_settled
from chalicelib.models import Appeal, Lead
from chalicelib.models.leads import (
    CONTACTED,
    FINAL_LEAD_STAGES,
    LOST,
    NEW,
    QUALIFIED,
)
from chalicelib.routing import appeals
from chalicelib.schemas.appeals import AppealOut
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import FactorOut, LeadEvent, LeadHistory, LeadOut, LeadPatch

_LIST_KEY = ("lead_id", "listed", "created_at")
_STAGE_KEY = ("lead_id", "stage", "stage_changed_at")
_APPEALS_KEY = ("appeal_id", "lead_id", "created_at")

# One step forward at a time; `qualified` moves on only through the transfer gate.
NEXT_STAGE = {NEW: CONTACTED, CONTACTED: QUALIFIED}
# Fields of PATCH /leads/{id} that the scorers read.
_SCORING_INPUTS = frozenset({"business_domain"})


def stage_of(row: Lead) -> str:
    return row.stage or NEW  # rows from before the funnel existed


def to_out(row: Lead) -> LeadOut:
    scored = row.scored_at is not None
    return LeadOut(
        id=row.lead_id,
        external_id=row.external_id,
        name=row.name,
        phone=row.phone,
        email=row.email,
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
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get_lead_row(lead_id: str, consistent: bool = False) -> Lead:
    if not is_well_formed(lead_id) or not lead_id.startswith("ld_"):
        raise NotFound.entity("lead", lead_id)
    try:
        return Lead.get(lead_id, consistent_read=consistent)
    except DoesNotExist:
        raise NotFound.entity("lead", lead_id) from None


def get_lead(lead_id: str, viewer: Principal = SYSTEM) -> LeadOut:
    row = get_lead_row(lead_id)
    ensure_lead_visible(row.lead_id, viewer)
    return to_out(row)


def list_leads(
    limit: int, cursor: str | None, external_id: str | None = None, stage: str | None = None
) -> Page[LeadOut]:
    """Newest first, or a stage's leads latest change first; `external_id`
    finds the one lead (or none) with one GetItem."""
    if external_id is not None:
        try:
            found = get_lead(lead_id_for(external_id))
        except NotFound:
            return Page[LeadOut](items=[], next=None)
        return Page[LeadOut](items=[found] if stage in (None, found.stage) else [], next=None)
    if stage is not None:
        start, _ = decode_cursor(cursor, _STAGE_KEY, pinned={"stage": stage})
        rows, last = take_rows_page(
            lambda **kw: Lead.by_stage.query(stage, scan_index_forward=False, **kw), Lead, limit, start
        )
        # The index trails the table a little: a lead that just moved on is not listed.
        rows = [row for row in rows if stage_of(row) == stage]
    else:
        start, _ = decode_cursor(cursor, _LIST_KEY, pinned={"listed": LISTED})
        rows, last = take_rows_page(
            lambda **kw: Lead.newest_first.query(LISTED, scan_index_forward=False, **kw), Lead, limit, start
        )
    return Page[LeadOut](items=[to_out(row) for row in rows], next=encode_cursor(last))


def list_lead_appeals(lead_id: str, limit: int, cursor: str | None) -> Page[AppealOut]:
    get_lead_row(lead_id)
    start, _ = decode_cursor(cursor, _APPEALS_KEY, pinned={"lead_id": lead_id})
    rows, last = take_page(lambda **kw: Appeal.by_lead.query(lead_id, scan_index_forward=False, **kw), limit, start)
    return Page[AppealOut](items=[appeals.to_out(row) for row in rows], next=encode_cursor(last))


def update_lead(lead_id: str, patch: LeadPatch) -> LeadOut:
    """Contact details and business domain. A changed business domain is a
    scoring input: the lead is marked for the rescoring job."""
    if not is_well_formed(lead_id) or not lead_id.startswith("ld_"):
        raise NotFound.entity("lead", lead_id)
    changes = patch.changes()
    now = iso(utc_now())
    actions = [
        getattr(Lead, name).set(value) if value is not None else getattr(Lead, name).remove()
        for name, value in changes.items()
    ]
    actions.append(Lead.updated_at.set(now))
    if _SCORING_INPUTS & changes.keys():
        actions += scoring_inputs_changed(now)
    row = Lead(lead_id)
    update_existing(row, actions, "lead")
    # Which fields, never their values: they are the lead's contacts.
    logger.info("lead updated", extra={"lead_id": lead_id, "fields": sorted(changes)})
    return to_out(row)


def allowed_moves(stage: str) -> list[str]:
    if stage in FINAL_LEAD_STAGES:
        return []
    return [*([NEXT_STAGE[stage]] if stage in NEXT_STAGE else []), LOST]


def stage_refusal(lead_id: str, current: str, wanted: str) -> Conflict:
    if current in FINAL_LEAD_STAGES:
        return Conflict(f"lead {lead_id} is {current}, a final stage; it cannot change")
    moves = " or ".join(allowed_moves(current))
    hint = " (a qualified lead moves on through POST /leads/{id}/transfer)" if current == QUALIFIED else ""
    if wanted == current:
        return Conflict(f"lead {lead_id} is already {current}; from here it can move to {moves}{hint}")
    return Conflict(f"lead {lead_id} cannot move from {current} to {wanted}; allowed: {moves}{hint}")


def change_stage(lead_id: str, wanted: str) -> LeadOut:
    """One step forward, or to `lost` from any non-final stage. The write is
    conditional on the stage it was read at, so two people moving the same
    lead at once cannot both succeed from the same stage."""
    for _ in range(3):
        row = get_lead_row(lead_id, consistent=True)
        current = stage_of(row)
        if wanted not in allowed_moves(current):
            raise stage_refusal(lead_id, current, wanted)
        now = iso(utc_now())
        actions = [
            Lead.stage.set(wanted),
            Lead.stage_changed_at.set(now),
            Lead.updated_at.set(now),
            append_to(Lead.events, lead_event("stage_changed", now, from_stage=current, to_stage=wanted)),
            # A final lead is never rescored; any other stage is a scoring input.
            # Either way the version moves, so no score read before this lands after it.
            *(
                [Lead.inputs_version.add(1), *scoring_settled()]
                if wanted in FINAL_LEAD_STAGES
                else scoring_inputs_changed(now)
            ),
        ]
        seen = Lead.stage == current
        if current == NEW:
            seen = seen | Lead.stage.does_not_exist()
        if update_if(row, actions, seen, "lead"):
            logger.info("lead stage changed", extra={"lead_id": lead_id, "from_stage": current, "to_stage": wanted})
            return to_out(row)
        # Someone moved it meanwhile: judge the move against the new stage.
    raise Conflict(f"lead {lead_id} is changing stage too fast; read it and retry")


def get_history(lead_id: str) -> LeadHistory:
    row = get_lead_row(lead_id, consistent=True)
    events = [LeadEvent.model_validate_json(raw) for raw in (row.events or [])]
    return LeadHistory(lead_id=lead_id, events=events)
