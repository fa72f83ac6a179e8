"""The counters that move with appeals, each through its own helper that adds
its update to the caller's transaction (the operator and weight counters are
`capacity.add_claim` / `add_release`):

    Source.waiting_count   add_to_line / add_off_line
    Source.appeals_total   add_received
    Lead.appeals_count,
    Lead.message_count     add_lead_message
    LeadMembership.appeals add_member (a lead's appeals from a source with an operator)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.funnel.lead_state import scoring_inputs_changed
from chalicelib.models.appeals import LeadMembership, member_key
from chalicelib.models.leads import Lead
from chalicelib.models.sources import Source

if TYPE_CHECKING:
    from chalicelib.db.transactions import Transaction

__all__ = ["LEAD", "MEMBER", "SOURCE", "add_lead_message", "add_member", "add_off_line", "add_received", "add_to_line"]

SOURCE = "source"
LEAD = "lead"
MEMBER = "member"


def add_to_line(tx: Transaction, source_id: str) -> None:
    """One more appeal waits in the source's line (queued or escalated)."""
    tx.update(SOURCE, Source(source_id), [Source.waiting_count.add(1)])


def add_off_line(tx: Transaction, source_id: str) -> None:
    """One appeal fewer waits in the source's line."""
    tx.update(SOURCE, Source(source_id), [Source.waiting_count.add(-1)])


def add_received(tx: Transaction, source_id: str) -> None:
    """The source received one more appeal; refused if the source does not exist."""
    tx.update(SOURCE, Source(source_id), [Source.appeals_total.add(1)], condition=Source.source_id.exists())


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
