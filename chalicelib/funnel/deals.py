"""The sales hand-off (a qualified, well-scored lead becomes a deal) and the
deal pipeline."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.ids import is_well_formed, iso, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.history import append_to
from chalicelib.db.paging import decode_cursor, encode_cursor, take_rows_page
from chalicelib.db.transactions import Cancelled, Transaction, commit_with_retry, update_if
from chalicelib.funnel import leads
from chalicelib.funnel.lead_state import lead_event, scoring_settled
from chalicelib.models import Deal, Lead
from chalicelib.models.leads import DEAL_STAGES, DEALS_LISTED, QUALIFIED, TRANSFERRED, deal_key
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import DealEvent, DealOut, Transfer
from chalicelib.scoring.base import TRANSFER_THRESHOLD

_LIST_KEY = ("lead_id", "listed", "created_at")
PAID = DEAL_STAGES[-1]


def deal_id_for(lead_id: str) -> str:
    # Derived, so a lead has at most one deal and a retried transfer cannot make two.
    return f"dl_{lead_id.removeprefix('ld_')}"


def to_out(row: Deal) -> DealOut:
    return DealOut(
        id=row.deal_id,
        lead_id=row.deal_lead_id,
        stage=row.deal_stage,
        business_domain=row.business_domain,
        ai_score_at_transfer=None if row.ai_score_at_transfer is None else float(row.ai_score_at_transfer),
        history=[DealEvent.model_validate_json(raw) for raw in (row.events or [])],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def transfer_refusals(row: Lead) -> list[str]:
    """Every unmet condition of the hand-off, in words."""
    problems = []
    stage = leads.stage_of(row)
    if stage == TRANSFERRED:
        problems.append(f"it is already transferred (deal {row.deal_id})")
    elif stage != QUALIFIED:
        problems.append(f"its stage is {stage}, not {QUALIFIED}")
    if row.ai_score is None:
        problems.append("it has no ai_score yet (POST /leads/{id}/analyze scores it now)")
    elif float(row.ai_score) < TRANSFER_THRESHOLD:
        problems.append(f"its ai_score {float(row.ai_score):.2f} is below {TRANSFER_THRESHOLD}")
    if not row.business_domain:
        problems.append("it has no business_domain (set it with PATCH /leads/{id})")
    if row.ai_score is not None and row.rescore_due is not None:
        problems.append("its score is stale: its inputs changed after it was scored (POST /leads/{id}/analyze)")
    return problems


def transfer_lead(lead_id: str) -> Transfer:
    """The lead becomes `transferred` and its deal is created, in one
    transaction conditional on every rule still holding, so a score or stage
    changing meanwhile cannot slip a lead past the gate."""
    row = leads.get_lead_row(lead_id, consistent=True)
    problems = transfer_refusals(row)
    if problems:
        raise Conflict(f"lead {lead_id} cannot be transferred: " + "; ".join(problems))
    now = iso(utc_now())
    deal = Deal(
        deal_key(deal_id_for(lead_id)),
        deal_id=deal_id_for(lead_id),
        deal_lead_id=lead_id,
        deal_stage=DEAL_STAGES[0],
        business_domain=row.business_domain,
        ai_score_at_transfer=row.ai_score,
        events=[DealEvent(type="created", at=now, to_stage=DEAL_STAGES[0]).model_dump_json(exclude_none=True)],
        created_at=now,
        updated_at=now,
        listed=DEALS_LISTED,
    )
    tx = Transaction()
    tx.put("deal", deal, condition=Deal.key.does_not_exist())
    tx.update(
        "lead",
        Lead(lead_id),
        [
            Lead.stage.set(TRANSFERRED),
            Lead.stage_changed_at.set(now),
            Lead.updated_at.set(now),
            Lead.deal_id.set(deal.deal_id),
            append_to(
                Lead.events,
                lead_event("stage_changed", now, from_stage=QUALIFIED, to_stage=TRANSFERRED),
                lead_event("transferred", now, deal_id=deal.deal_id, score=float(row.ai_score)),
            ),
            Lead.inputs_version.add(1),
            *scoring_settled(),
        ],
        condition=(Lead.stage == QUALIFIED)
        & (Lead.ai_score >= TRANSFER_THRESHOLD)
        & Lead.business_domain.exists()
        & Lead.rescore_due.does_not_exist()
        & Lead.deal_id.does_not_exist(),
    )
    try:
        commit_with_retry(tx)
    except Cancelled as failure:
        if not (failure.failed("lead") or failure.failed("deal")):
            raise
        again = transfer_refusals(leads.get_lead_row(lead_id, consistent=True))
        reasons = "; ".join(again) or "it changed while being transferred; read it and retry"
        raise Conflict(f"lead {lead_id} cannot be transferred: {reasons}") from None
    logger.info(
        "lead transferred to sales",
        extra={
            "lead_id": lead_id,
            "deal_id": deal.deal_id,
            "from_stage": QUALIFIED,
            "to_stage": TRANSFERRED,
            "ai_score": float(row.ai_score),
            "model_version": row.model_version,
        },
    )
    return Transfer(lead=leads.get_lead(lead_id), deal=to_out(deal))


def get_deal_row(deal_id: str, consistent: bool = False) -> Deal:
    if not is_well_formed(deal_id) or not deal_id.startswith("dl_"):
        raise NotFound.entity("deal", deal_id)
    try:
        return Deal.get(deal_key(deal_id), consistent_read=consistent)
    except DoesNotExist:
        raise NotFound.entity("deal", deal_id) from None


def get_deal(deal_id: str) -> DealOut:
    return to_out(get_deal_row(deal_id))


def list_deals(limit: int, cursor: str | None) -> Page[DealOut]:
    """Newest first."""
    start, _ = decode_cursor(cursor, _LIST_KEY, pinned={"listed": DEALS_LISTED})
    rows, last = take_rows_page(
        lambda **kw: Deal.newest_first.query(DEALS_LISTED, scan_index_forward=False, **kw), Deal, limit, start
    )
    return Page[DealOut](items=[to_out(row) for row in rows], next=encode_cursor(last))


def change_deal_stage(deal_id: str, wanted: str) -> DealOut:
    """`new → kyc → agreement → paid`, one step at a time; `paid` is final.
    Conditional on the stage it was read at."""
    for _ in range(3):
        row = get_deal_row(deal_id, consistent=True)
        current = row.deal_stage
        if current == PAID:
            raise Conflict(f"deal {deal_id} is paid, a final stage; it cannot change")
        step = DEAL_STAGES[DEAL_STAGES.index(current) + 1]
        if wanted != step:
            already = "already " if wanted == current else ""
            raise Conflict(f"deal {deal_id} is {already}{current}; the only allowed move is to {step}")
        now = iso(utc_now())
        moved = update_if(
            row,
            [
                Deal.deal_stage.set(wanted),
                Deal.updated_at.set(now),
                append_to(
                    Deal.events,
                    DealEvent(type="stage_changed", at=now, from_stage=current, to_stage=wanted).model_dump_json(
                        exclude_none=True
                    ),
                ),
            ],
            Deal.deal_stage == current,
            "deal",
        )
        if moved:
            logger.info("deal stage changed", extra={"deal_id": deal_id, "from_stage": current, "to_stage": wanted})
            return to_out(row)
    raise Conflict(f"deal {deal_id} is changing stage too fast; read it and retry")
