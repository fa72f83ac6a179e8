"""What an operator or a bot may touch, decided on the row itself.

The route table (`chalicelib.access.routes`) says which routes a role may
call; these checks say which *rows*: an operator only its own appeals and
the leads of those appeals, a bot only its own source. Admins and internal
callers (`SYSTEM`) pass every check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import Forbidden, NotFound
from chalicelib.models.appeals import member_sources
from chalicelib.models.leads import lead_sources

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal
    from chalicelib.models.appeals import Appeal

__all__ = [
    "ensure_acting_as_self",
    "ensure_may_post_to",
    "ensure_own_appeal",
    "ensure_sees_appeal",
    "visible_lead_sources",
]


def ensure_own_appeal(row: Appeal, viewer: Principal) -> None:
    if viewer.is_admin:
        return
    if viewer.role != "operator" or row.operator_id is None or row.operator_id != viewer.operator_id:
        raise Forbidden(f"appeal {row.appeal_id} is not assigned to you")


def ensure_sees_appeal(row: Appeal, viewer: Principal) -> None:
    """Like `ensure_own_appeal`, but another operator's appeal is NotFound, exactly like a
    missing one: its conversation is personal data, and its existence is not the caller's business."""
    if viewer.is_admin:
        return
    if viewer.role != "operator" or row.operator_id is None or row.operator_id != viewer.operator_id:
        raise NotFound.entity("appeal", row.appeal_id)


def ensure_acting_as_self(operator_id: str, viewer: Principal) -> None:
    if not viewer.is_admin and operator_id != viewer.operator_id:
        raise Forbidden("an operator may act only as itself")


def visible_lead_sources(lead_id: str, viewer: Principal) -> list[str] | None:
    """Through which sources the viewer may see the lead: None for an admin (all of them),
    else the sources of the lead's appeals that are (or, closed, were) with this operator.

    A lead the viewer may not see is NotFound, exactly like a missing one, so
    an operator cannot test whether a person is in the CRM. The check reads
    two attributes of the lead and the membership items (one GetItem, one
    BatchGetItem), never the lead's appeals.
    """
    if viewer.is_admin:
        return None
    if viewer.role == "operator" and viewer.operator_id:
        mine = member_sources(lead_id, viewer.operator_id, lead_sources(lead_id))
        if mine:
            return mine
    raise NotFound.entity("lead", lead_id)


def ensure_may_post_to(source_id: str, viewer: Principal) -> None:
    if viewer.role == "bot" and source_id != viewer.source_id:
        raise Forbidden("this API key may post appeals to its own source only")
