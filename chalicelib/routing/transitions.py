"""How an appeal's row changes when it is assigned, queued or taken back,
and the event each change appends to its history (in the same write)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib.core.ids import iso
from chalicelib.db.history import append_to
from chalicelib.models import Appeal, Source
from chalicelib.models.appeals import ACTIVE, WAITING, operator_status_key, waiting_key
from chalicelib.routing.draw import Candidate, Decision
from chalicelib.schemas.appeals import AppealEvent


def event(kind: str, at: str, *, decision: Decision | None = None, **fields: Any) -> str:
    record = decision.record() if decision is not None else None
    # Validated on the way in, so the history endpoint never meets a bad row.
    return AppealEvent.model_validate({"type": kind, "at": at, "decision": record, **fields}).model_dump_json(
        exclude_none=True
    )


def append_events(*events: str) -> Action:
    return append_to(Appeal.events, *events)


def sla_deadline(source: Source, assigned_at: datetime, appeal_id: str) -> str | None:
    if source.response_sla_seconds is None:
        return None
    return f"{iso(assigned_at + timedelta(seconds=int(source.response_sla_seconds)))}#{appeal_id}"


def assigned_actions(row: Appeal, source: Source, winner: Candidate, now: datetime) -> list[Action]:
    """Actions that hand `row` (waiting or active) to `winner`."""
    at = iso(now)
    actions = [
        Appeal.status.set(ACTIVE),
        Appeal.operator_id.set(winner.operator_id),
        Appeal.operator_name.set(winner.name),
        Appeal.operator_status_key.set(operator_status_key(ACTIVE, row.created_at, row.appeal_id)),
        Appeal.assigned_at.set(at),
        Appeal.accepted_at.remove(),
        Appeal.waiting_source_id.remove(),
        Appeal.waiting_key.remove(),
    ]
    deadline = sla_deadline(source, now, row.appeal_id)
    if deadline is None:
        actions += [Appeal.sla_source_id.remove(), Appeal.sla_due_at.remove()]
    else:
        actions += [Appeal.sla_source_id.set(source.source_id), Appeal.sla_due_at.set(deadline)]
    return actions


def queued_actions(row: Appeal, segment: str, now: datetime) -> list[Action]:
    """Actions that put `row` (taken from an operator) back into its source's line."""
    return [
        Appeal.status.set(WAITING),
        Appeal.waiting_source_id.set(row.source_id),
        Appeal.waiting_key.set(waiting_key(segment, iso(now), row.appeal_id)),
        Appeal.operator_id.remove(),
        Appeal.operator_name.remove(),
        Appeal.operator_status_key.remove(),
        Appeal.assigned_at.remove(),
        Appeal.accepted_at.remove(),
        Appeal.sla_source_id.remove(),
        Appeal.sla_due_at.remove(),
    ]


def deadline_of(row: Appeal) -> str | None:
    return row.sla_due_at.split("#", 1)[0] if row.sla_due_at else None
