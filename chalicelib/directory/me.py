"""The caller's own view: its profile, its appeals and its presence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import NotFound
from chalicelib.directory import operators
from chalicelib.routing.appeals import list_operator_appeals
from chalicelib.schemas.auth import MeOut

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal
    from chalicelib.models.appeals import AppealStatus
    from chalicelib.schemas.appeals import AppealOut
    from chalicelib.schemas.common import Page
    from chalicelib.schemas.operators import OperatorOut, PresenceChange

__all__ = ["my_appeals", "own_operator_id", "set_my_presence", "who_am_i"]


def who_am_i(*, viewer: Principal) -> MeOut:
    operator = None
    if viewer.operator_id:
        try:
            operator = operators.get_operator(viewer.operator_id)
        except NotFound:
            # A token can outlive its operator; it still says who is calling.
            operator = None
    return MeOut(role=viewer.role, subject=viewer.subject, operator=operator, source_id=viewer.source_id)


def my_appeals(status: AppealStatus | None, limit: int, cursor: str | None, *, viewer: Principal) -> Page[AppealOut]:
    return list_operator_appeals(_own_operator_id(viewer), status, limit, cursor)


def set_my_presence(change: PresenceChange, *, viewer: Principal) -> OperatorOut:
    """Pause (nothing new is handed to me; my unaccepted appeals go back through distribution,
    the accepted ones stay mine) or resume, which hands my sources' waiting lines my free
    capacity at once (or, off shift, marks me off_shift until my next shift)."""
    return operators.set_own_presence(_own_operator_id(viewer), change.target, change.reason)


def _own_operator_id(viewer: Principal) -> str:
    if not viewer.operator_id:
        raise NotFound("this caller has no operator profile: its token names no operator")
    return viewer.operator_id


def own_operator_id(viewer: Principal) -> str:
    """The operator the caller's token names (404 for a caller without one)."""
    return _own_operator_id(viewer)
