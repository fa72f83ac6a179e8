"""Stage moves, for leads and deals: each rule's Python check (judged on the
row as read, worded for the caller) and its DynamoDB condition (the same rule
again at write time, so a move racing another cannot slip through) side by side.

    leads   new -> contacted -> qualified -> transferred (only through the transfer gate)
            any non-final stage -> lost; transferred and lost are final
    deals   new -> kyc -> agreement -> paid, one step at a time; paid is final
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import Conflict, NextStep
from chalicelib.models.leads import Deal, DealStage, Lead, LeadStage

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition

__all__ = [
    "FINAL_LEAD_STAGES",
    "NEXT_STAGE",
    "allowed_moves",
    "deal_at",
    "deal_step_refusal",
    "lead_at",
    "next_deal_step",
    "stage_of",
    "stage_refusal",
]

NEW, CONTACTED, QUALIFIED, TRANSFERRED, LOST = LeadStage
# Final stages never change.
FINAL_LEAD_STAGES = frozenset({TRANSFERRED, LOST})
# One step forward at a time; `qualified` moves on only through the transfer gate.
NEXT_STAGE = {NEW: CONTACTED, CONTACTED: QUALIFIED}


def stage_of(row: Lead) -> LeadStage:
    return LeadStage(row.stage or NEW)  # rows from before the funnel existed


def allowed_moves(stage: LeadStage) -> list[LeadStage]:
    if stage in FINAL_LEAD_STAGES:
        return []
    return [*([NEXT_STAGE[stage]] if stage in NEXT_STAGE else []), LOST]


def stage_refusal(lead_id: str, current: LeadStage, wanted: LeadStage) -> Conflict:
    """Why `wanted` is not a move from `current`, and which moves are."""
    if current in FINAL_LEAD_STAGES:
        return Conflict(f"lead {lead_id} is {current}, a final stage; it cannot change")
    moves = " or ".join(allowed_moves(current))
    steps = [NextStep.TRANSFER] if current == QUALIFIED else []
    if wanted == current:
        return Conflict(f"lead {lead_id} is already {current}; from here it can move to {moves}", next_steps=steps)
    return Conflict(f"lead {lead_id} cannot move from {current} to {wanted}; allowed: {moves}", next_steps=steps)


def lead_at(stage: LeadStage) -> Condition:
    """The lead is still at `stage` (a row from before the funnel has none: it is `new`)."""
    seen = Lead.stage == stage
    return seen | Lead.stage.does_not_exist() if stage == NEW else seen


def next_deal_step(current: DealStage) -> DealStage | None:
    stages = list(DealStage)
    index = stages.index(current)
    return stages[index + 1] if index + 1 < len(stages) else None


def deal_step_refusal(deal_id: str, current: DealStage, wanted: DealStage) -> Conflict | None:
    """None when `wanted` is the one step after `current`."""
    step = next_deal_step(current)
    if step is None:
        return Conflict(f"deal {deal_id} is {current}, a final stage; it cannot change")
    if wanted != step:
        already = "already " if wanted == current else ""
        return Conflict(f"deal {deal_id} is {already}{current}; the only allowed move is to {step}")
    return None


def deal_at(stage: DealStage) -> Condition:
    return Deal.deal_stage == stage
