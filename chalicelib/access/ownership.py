"""What an operator or a bot may touch, decided on the row itself.

The route table (`chalicelib.access.routes`) says which routes a role may
call; these checks say which *rows*: an operator only its own appeals and
the leads of those appeals, a bot only its own source. Admins and internal
callers (`SYSTEM`) pass every check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import Forbidden
from chalicelib.models.appeals import lead_has_appeal_of

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal
    from chalicelib.models.appeals import Appeal

__all__ = ["ensure_acting_as_self", "ensure_lead_visible", "ensure_may_post_to", "ensure_own_appeal"]


def ensure_own_appeal(row: Appeal, viewer: Principal) -> None:
    if viewer.is_admin:
        return
    if viewer.role != "operator" or row.operator_id is None or row.operator_id != viewer.operator_id:
        raise Forbidden(f"appeal {row.appeal_id} is not assigned to you")


def ensure_acting_as_self(operator_id: str, viewer: Principal) -> None:
    if not viewer.is_admin and operator_id != viewer.operator_id:
        raise Forbidden("an operator may act only as itself")


def ensure_lead_visible(lead_id: str, viewer: Principal) -> None:
    """An operator sees a lead while one of the lead's appeals is (or was last) assigned to it."""
    if viewer.is_admin:
        return
    if viewer.role == "operator" and viewer.operator_id and lead_has_appeal_of(lead_id, viewer.operator_id):
        return
    raise Forbidden(f"lead {lead_id} is not one of your appeals' leads")


def ensure_may_post_to(source_id: str, viewer: Principal) -> None:
    if viewer.role == "bot" and source_id != viewer.source_id:
        raise Forbidden("this API key may post appeals to its own source only")
