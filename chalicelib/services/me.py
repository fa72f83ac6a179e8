"""The caller's own view: its profile and its appeals."""

from __future__ import annotations

from chalicelib.auth.principal import Principal
from chalicelib.errors import NotFound
from chalicelib.schemas.appeals import AppealOut
from chalicelib.schemas.auth import MeOut
from chalicelib.schemas.common import Page
from chalicelib.schemas.operators import OperatorOut, OperatorPatch, PresenceChange
from chalicelib.services import operators


def who_am_i(viewer: Principal) -> MeOut:
    operator = None
    if viewer.operator_id:
        try:
            operator = operators.get_operator(viewer.operator_id)
        except NotFound:
            # A token can outlive its operator; it still says who is calling.
            operator = None
    return MeOut(role=viewer.role, subject=viewer.subject, operator=operator, source_id=viewer.source_id)


def my_appeals(viewer: Principal, status: str | None, limit: int, cursor: str | None) -> Page[AppealOut]:
    return operators.list_operator_appeals(_own_operator_id(viewer), status, limit, cursor)


def set_my_presence(viewer: Principal, change: PresenceChange) -> OperatorOut:
    """Pause (nothing new is handed to me; my appeals stay mine) or resume,
    which hands my sources' waiting lines my free capacity at once."""
    return operators.update_operator(_own_operator_id(viewer), OperatorPatch(is_active=change.is_active))


def _own_operator_id(viewer: Principal) -> str:
    if not viewer.operator_id:
        raise NotFound("this caller has no operator profile: its token names no operator")
    return viewer.operator_id
