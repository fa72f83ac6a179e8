"""How a lead's row changes, and the history event each change appends
(in the same write)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.db.history import append_to
from chalicelib.models import Lead
from chalicelib.models.leads import RESCORE_DUE
from chalicelib.schemas.leads import LeadEvent

if TYPE_CHECKING:
    from pynamodb.expressions.update import Action


def scoring_inputs_changed(now: str) -> list[Action]:
    """Marks the lead for the rescoring job. `rescore_since` keeps the first
    change's time, so a lead that keeps changing is not pushed back forever."""
    return [
        Lead.inputs_version.add(1),
        Lead.rescore_due.set(RESCORE_DUE),
        Lead.rescore_since.set(Lead.rescore_since | now),
    ]


def scoring_settled() -> list[Action]:
    return [Lead.rescore_due.remove(), Lead.rescore_since.remove()]


# A lead's history lives on its row (one GetItem reads it); past this many
# events the oldest are dropped, so the row stays far below DynamoDB's 400 KB.
MAX_HISTORY_EVENTS = 200


def capped_history(row: Lead, *events: str) -> Action:
    """Appends `events`; on a row already at the cap, rewrites the list
    without its oldest events. Only safe under a condition that the history
    has not changed since `row` was read (every writer of events bumps
    `inputs_version`, which the caller conditions on)."""
    kept = list(row.events or [])
    if len(kept) + len(events) <= MAX_HISTORY_EVENTS:
        return append_to(Lead.events, *events)
    return Lead.events.set((kept + list(events))[-MAX_HISTORY_EVENTS:])


def lead_event(kind: str, at: str, **fields: Any) -> str:
    # Validated on the way in, so the history endpoint never meets a bad row.
    return LeadEvent.model_validate({"type": kind, "at": at, **fields}).model_dump_json(exclude_none=True)
