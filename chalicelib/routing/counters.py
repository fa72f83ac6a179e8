"""The counters that move with appeals, each through its own helper that adds
its update to the caller's transaction (the operator and weight counters are
`capacity.add_claim` / `add_release`):

    Lead.appeals_count,
    Lead.message_count     add_lead_message
    LeadMembership.appeals add_member (a lead's appeals from a source with an operator)

A source's `appeals_total` / `waiting_count` are not here on purpose: an item
every intake of a source wrote would cap the source at one item's transaction
rate (issue 15). They are aggregated from the appeals stream
(`directory.aggregates`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.funnel.lead_state import scoring_inputs_changed
from chalicelib.models.appeals import LeadMembership, member_key
from chalicelib.models.leads import Lead

if TYPE_CHECKING:
    from chalicelib.db.transactions import Transaction

__all__ = ["LEAD", "MEMBER", "add_lead_message", "add_member"]

LEAD = "lead"
MEMBER = "member"


def add_lead_message(tx: Transaction, lead_id: str, at: str, *, opens_appeal: bool, must_exist: bool = False) -> None:
    """One more message from the lead (and one more appeal when it opens one):
    both are scoring inputs, so the lead is due for rescoring."""
    actions = [Lead.message_count.add(1), Lead.updated_at.set(at), *scoring_inputs_changed(at)]
    if opens_appeal:
        actions.append(Lead.appeals_count.add(1))
    tx.update(LEAD, Lead(lead_id), actions, condition=Lead.lead_id.exists() if must_exist else None)


def add_member(
    tx: Transaction, lead_id: str, source_id: str, operator_id: str, delta: int, *, label: str = MEMBER
) -> None:
    """One of the lead's appeals from this source is now with the operator (+1), or no longer is (-1):
    what decides whether the operator may read the lead, and whose contacts."""
    tx.update(label, LeadMembership(member_key(lead_id, source_id, operator_id)), [LeadMembership.appeals.add(delta)])
