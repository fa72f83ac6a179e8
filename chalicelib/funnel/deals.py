"""The deal pipeline of transferred leads (the transfer itself is `chalicelib.funnel.transfer`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import Conflict
from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.history import append_to
from chalicelib.db.retry import tries
from chalicelib.db.transactions import update_if
from chalicelib.funnel.stages import deal_at, deal_step_refusal
from chalicelib.models.leads import Deal, DealEventType, DealStage, deal_id_for, deals_newest_first, get_deal_row
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import DealEvent, DealOut

if TYPE_CHECKING:
    from chalicelib.db.retry import RetryPolicy

__all__ = ["change_deal_stage", "deal_id_for", "deal_out", "get_deal", "list_deals"]


def deal_out(row: Deal) -> DealOut:
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


def get_deal(deal_id: str) -> DealOut:
    return deal_out(get_deal_row(deal_id))


def list_deals(limit: int, cursor: str | None) -> Page[DealOut]:
    """Newest first."""
    rows, following = deals_newest_first(limit, cursor)
    return Page[DealOut](items=[deal_out(row) for row in rows], next=following)


def change_deal_stage(deal_id: str, wanted: DealStage, *, policy: RetryPolicy | None = None) -> DealOut:
    """`new → kyc → agreement → paid`, one step at a time; `paid` is final.
    Conditional on the stage it was read at."""
    wanted = DealStage(wanted)
    for _ in tries(policy):
        row = get_deal_row(deal_id, consistent=True)
        current = DealStage(row.deal_stage)
        refusal = deal_step_refusal(deal_id, current, wanted)
        if refusal is not None:
            raise refusal
        now = iso(utc_now())
        stage_changed = DealEvent(type=DealEventType.STAGE_CHANGED, at=now, from_stage=current, to_stage=wanted)
        actions = [
            Deal.deal_stage.set(wanted),
            Deal.updated_at.set(now),
            append_to(Deal.events, stage_changed.model_dump_json(exclude_none=True)),
        ]
        if update_if(row, actions, deal_at(current), "deal", policy):
            logger.info("deal stage changed", extra={"deal_id": deal_id, "from_stage": current, "to_stage": wanted})
            return deal_out(row)
    raise Conflict(f"deal {deal_id} is changing stage too fast; read it and retry")
