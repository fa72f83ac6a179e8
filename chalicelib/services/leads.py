"""Leads: one per external id, across every channel."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.errors import NotFound
from chalicelib.ids import is_well_formed, lead_id_for
from chalicelib.models import Appeal, Lead
from chalicelib.models.base import LISTED
from chalicelib.schemas.appeals import AppealOut
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import LeadOut
from chalicelib.services import appeals
from chalicelib.services.paging import decode_cursor, encode_cursor, take_page, take_rows_page

_LIST_KEY = ("lead_id", "listed", "created_at")
_APPEALS_KEY = ("appeal_id", "lead_id", "created_at")


def to_out(row: Lead) -> LeadOut:
    return LeadOut(
        id=row.lead_id,
        external_id=row.external_id,
        name=row.name,
        phone=row.phone,
        email=row.email,
        appeals_count=int(row.appeals_count),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get_lead_row(lead_id: str) -> Lead:
    if not is_well_formed(lead_id):
        raise NotFound.entity("lead", lead_id)
    try:
        return Lead.get(lead_id)
    except DoesNotExist:
        raise NotFound.entity("lead", lead_id) from None


def get_lead(lead_id: str) -> LeadOut:
    return to_out(get_lead_row(lead_id))


def list_leads(limit: int, cursor: str | None, external_id: str | None = None) -> Page[LeadOut]:
    """Newest first; `external_id` finds the one lead (or none) with one GetItem."""
    if external_id is not None:
        try:
            return Page[LeadOut](items=[get_lead(lead_id_for(external_id))], next=None)
        except NotFound:
            return Page[LeadOut](items=[], next=None)
    start, _ = decode_cursor(cursor, _LIST_KEY, pinned={"listed": LISTED})
    rows, last = take_rows_page(
        lambda **kw: Lead.newest_first.query(LISTED, scan_index_forward=False, **kw), Lead, limit, start
    )
    return Page[LeadOut](items=[to_out(row) for row in rows], next=encode_cursor(last))


def list_lead_appeals(lead_id: str, limit: int, cursor: str | None) -> Page[AppealOut]:
    get_lead_row(lead_id)
    start, _ = decode_cursor(cursor, _APPEALS_KEY, pinned={"lead_id": lead_id})
    rows, last = take_page(lambda **kw: Appeal.by_lead.query(lead_id, scan_index_forward=False, **kw), limit, start)
    return Page[AppealOut](items=[appeals.to_out(row) for row in rows], next=encode_cursor(last))
