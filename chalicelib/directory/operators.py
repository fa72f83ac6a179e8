"""Operators: profiles, availability settings and their appeals."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.core.errors import FieldProblem, InvalidInput, MalformedInput, NotFound
from chalicelib.core.ids import is_well_formed, iso, new_id, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.paging import decode_cursor, encode_cursor, take_page, take_rows_page
from chalicelib.db.tables import LISTED
from chalicelib.db.transactions import update_existing
from chalicelib.models import Appeal, Operator
from chalicelib.models.appeals import ACTIVE, CLOSED
from chalicelib.routing import appeals, reassignment, waiting_line
from chalicelib.schemas.appeals import AppealOut
from chalicelib.schemas.common import Page
from chalicelib.schemas.operators import OperatorCreate, OperatorOut, OperatorPatch

_LIST_KEY = ("operator_id", "listed", "created_at")
_APPEALS_KEY = ("appeal_id", "operator_id", "operator_status_key")


def to_out(row: Operator) -> OperatorOut:
    return OperatorOut(
        id=row.operator_id,
        name=row.name,
        is_active=row.is_active,
        max_load=int(row.max_load),
        current_load=int(row.active_load),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get_operator_row(operator_id: str) -> Operator:
    if not is_well_formed(operator_id):
        raise NotFound.entity("operator", operator_id)
    try:
        return Operator.get(operator_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound.entity("operator", operator_id) from None


def get_operator(operator_id: str) -> OperatorOut:
    return to_out(get_operator_row(operator_id))


def create_operator(request: OperatorCreate) -> OperatorOut:
    now = iso(utc_now())
    row = Operator(
        new_id("op"),
        name=request.name,
        is_active=request.is_active,
        max_load=request.max_load,
        active_load=0,
        created_at=now,
        updated_at=now,
        listed=LISTED,
    )
    row.save(condition=Operator.operator_id.does_not_exist())
    return to_out(row)


def list_operators(limit: int, cursor: str | None) -> Page[OperatorOut]:
    start, _ = decode_cursor(cursor, _LIST_KEY, pinned={"listed": LISTED})
    rows, last = take_rows_page(
        lambda **kw: Operator.newest_first.query(LISTED, scan_index_forward=False, **kw), Operator, limit, start
    )
    return Page[OperatorOut](items=[to_out(row) for row in rows], next=encode_cursor(last))


def update_operator(operator_id: str, patch: OperatorPatch, *, redistribute: bool = False) -> OperatorOut:
    """Changes name, activity or limit. Lowering `max_load` below the current
    load is allowed: the operator just gets nothing new until below it.

    Capacity that appears (activated, limit changed) goes straight to the
    waiting lines of the sources it serves. Deactivating with `redistribute`
    puts its unaccepted active appeals back through distribution.
    """
    changes = patch.changes()
    if redistribute and changes.get("is_active") is not False:
        raise InvalidInput(
            "redistribute=true goes with is_active=false",
            [FieldProblem(("query", "redistribute"), "only valid with is_active=false in the body", "value_error")],
        )
    if not is_well_formed(operator_id):
        raise NotFound.entity("operator", operator_id)
    actions = [getattr(Operator, name).set(value) for name, value in changes.items()]
    actions.append(Operator.updated_at.set(iso(utc_now())))
    row = Operator(operator_id)
    update_existing(row, actions, "operator")
    # Field names and the switches that move appeals; a name is personal.
    settings = {key: changes[key] for key in ("is_active", "max_load") if key in changes}
    logger.info("operator updated", extra={"operator_id": operator_id, "fields": sorted(changes), **settings})
    moved = 0
    if redistribute:
        moved = sum(reassignment.redistribute(operator_id).values())
    elif changes.get("is_active") is True or "max_load" in changes:
        moved = waiting_line.drain_after_release(operator_id)
    return to_out(get_operator_row(operator_id) if moved else row)


def list_operator_appeals(operator_id: str, status: str | None, limit: int, cursor: str | None) -> Page[AppealOut]:
    """Newest first. Without a status, active appeals come first, then closed."""
    get_operator_row(operator_id)
    start, state = decode_cursor(cursor, _APPEALS_KEY, pinned={"operator_id": operator_id})
    phases = [status] if status else [ACTIVE, CLOSED]
    phase = state.get("phase", phases[0])
    if phase not in phases:
        raise MalformedInput("this cursor belongs to a listing with another status filter")
    if start is not None and not start["operator_status_key"]["S"].startswith(f"{phase}#"):
        raise MalformedInput("this cursor belongs to another listing")
    items: list[AppealOut] = []
    for current in phases[phases.index(phase) :]:
        rows, last = take_page(
            lambda current=current, **kw: Appeal.by_operator.query(
                operator_id,
                range_key_condition=Appeal.operator_status_key.startswith(f"{current}#"),
                scan_index_forward=False,
                **kw,
            ),
            limit - len(items),
            start,
        )
        items.extend(appeals.to_out(row) for row in rows)
        if last is not None:
            return Page[AppealOut](items=items, next=encode_cursor(last, phase=current))
        start = None
        if len(items) >= limit:
            following = phases[phases.index(current) + 1 :]
            return Page[AppealOut](items=items, next=encode_cursor(None, phase=following[0]) if following else None)
    return Page[AppealOut](items=items, next=None)
