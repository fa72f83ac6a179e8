"""The hand-off to sales: a qualified lead, scored at least `TRANSFER_THRESHOLD`
(by a score newer than its inputs), with a business domain, becomes
`transferred` and gets a deal.

The rule is written twice, side by side, on purpose: `transfer_refusals`
judges the row as read and says what is missing; `still_transferable` is
the same rule as a DynamoDB condition on the write, so a score or stage
that changes between the read and the write cannot slip a lead past it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.access.ownership import visible_lead_sources
from chalicelib.core.errors import Conflict, NextStep
from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.history import append_to
from chalicelib.db.transactions import Cancelled, Transaction, commit_with_retry
from chalicelib.funnel import deals, leads
from chalicelib.funnel.lead_state import lead_event, scoring_settled
from chalicelib.funnel.stages import lead_at, stage_of
from chalicelib.models.leads import (
    DEALS_LISTED,
    Deal,
    DealEventType,
    DealStage,
    Lead,
    LeadEventType,
    LeadStage,
    deal_id_for,
    deal_key,
    get_lead_row,
)
from chalicelib.schemas.leads import DealEvent, Transfer

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition

    from chalicelib.access.principal import Principal

__all__ = ["TRANSFER_THRESHOLD", "still_transferable", "transfer_lead", "transfer_refusals"]

# The one threshold: the gate here, and the scorers' `transfer_to_sales` advice.
TRANSFER_THRESHOLD = 0.6
QUALIFIED, TRANSFERRED = LeadStage.QUALIFIED, LeadStage.TRANSFERRED


def transfer_refusals(row: Lead) -> list[tuple[str, NextStep | None]]:
    """Every unmet condition of the hand-off, in words, with what would meet it."""
    problems: list[tuple[str, NextStep | None]] = []
    stage = stage_of(row)
    if stage == TRANSFERRED:
        problems.append((f"it is already transferred (deal {row.deal_id})", None))
    elif stage != QUALIFIED:
        problems.append((f"its stage is {stage}, not {QUALIFIED}", None))
    if row.ai_score is None:
        problems.append(("it has no ai_score yet", NextStep.ANALYZE))
    elif float(row.ai_score) < TRANSFER_THRESHOLD:
        problems.append((f"its ai_score {float(row.ai_score):.2f} is below {TRANSFER_THRESHOLD}", None))
    if not row.business_domain:
        problems.append(("it has no business_domain", NextStep.SET_BUSINESS_DOMAIN))
    if row.ai_score is not None and row.rescore_due is not None:
        problems.append(("its score is stale: its inputs changed after it was scored", NextStep.ANALYZE))
    return problems


def still_transferable() -> Condition:
    """`transfer_refusals` finds nothing, as DynamoDB checks it at write time."""
    condition: Condition = (
        lead_at(QUALIFIED)
        & (Lead.ai_score >= TRANSFER_THRESHOLD)
        & Lead.business_domain.exists()
        & Lead.rescore_due.does_not_exist()
        & Lead.deal_id.does_not_exist()
    )
    return condition


def _refused(lead_id: str, problems: list[tuple[str, NextStep | None]]) -> Conflict:
    reasons = "; ".join(text for text, _ in problems) or "it changed while being transferred; read it and retry"
    steps = [step for _, step in problems if step is not None]
    return Conflict(f"lead {lead_id} cannot be transferred: {reasons}", next_steps=steps)


def transfer_lead(lead_id: str, *, viewer: Principal) -> Transfer:
    """The lead becomes `transferred` and its deal is created, in one
    transaction conditional on every rule still holding. An operator may ask
    for its own appeals' leads (the rule still decides; another lead: NotFound)."""
    visible_lead_sources(lead_id, viewer)
    row = get_lead_row(lead_id, consistent=True)
    problems = transfer_refusals(row)
    if problems:
        raise _refused(lead_id, problems)
    now = iso(utc_now())
    deal_id = deal_id_for(lead_id)
    score = float(row.ai_score or 0)
    deal = Deal(
        deal_key(deal_id),
        deal_id=deal_id,
        deal_lead_id=lead_id,
        deal_stage=DealStage.NEW,
        business_domain=row.business_domain,
        ai_score_at_transfer=row.ai_score,
        events=[
            DealEvent(type=DealEventType.CREATED, at=now, to_stage=DealStage.NEW).model_dump_json(exclude_none=True)
        ],
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
            Lead.deal_id.set(deal_id),
            append_to(
                Lead.events,
                lead_event(LeadEventType.STAGE_CHANGED, now, from_stage=QUALIFIED, to_stage=TRANSFERRED),
                lead_event(LeadEventType.TRANSFERRED, now, deal_id=deal_id, score=score),
            ),
            Lead.inputs_version.add(1),
            *scoring_settled(),
        ],
        condition=still_transferable(),
    )
    try:
        commit_with_retry(tx)
    except Cancelled as failure:
        if not (failure.failed("lead") or failure.failed("deal")):
            raise
        raise _refused(lead_id, transfer_refusals(get_lead_row(lead_id, consistent=True))) from None
    logger.info(
        "lead transferred to sales",
        extra={
            "lead_id": lead_id,
            "deal_id": deal_id,
            "from_stage": QUALIFIED,
            "to_stage": TRANSFERRED,
            "ai_score": score,
            "model_version": row.model_version,
        },
    )
    return Transfer(lead=leads.as_seen_by(get_lead_row(lead_id), viewer), deal=deals.deal_out(deal))
