"""Output mappers: an appeal row as the API shows it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.routing.transitions import deadline_of
from chalicelib.schemas.appeals import AppealOut, OperatorRef

if TYPE_CHECKING:
    from chalicelib.models.appeals import Appeal

__all__ = ["appeal_out"]


def appeal_out(row: Appeal) -> AppealOut:
    operator = OperatorRef(id=row.operator_id, name=row.operator_name or "") if row.operator_id else None
    return AppealOut(
        id=row.appeal_id,
        lead_id=row.lead_id,
        lead_external_id=row.lead_external_id,
        source_id=row.source_id,
        operator=operator,
        status=row.status,
        message=row.message,
        message_id=row.message_id,
        created_at=row.created_at,
        assigned_at=row.assigned_at,
        accepted_at=row.accepted_at,
        closed_at=row.closed_at,
        accept_by=deadline_of(row),
        reassign_count=int(row.reassign_count or 0),
        escalated=bool(row.escalated),
        message_count=int(row.message_count or 1),
        last_message_at=row.last_message_at or row.created_at,
        required_tags=sorted(row.required_tags or ()),
        vip=bool(row.vip),
    )
