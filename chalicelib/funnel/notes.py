"""Notes on a lead: who wrote what, when; newest first. An operator writes and
reads them on the leads of its own appeals only (another lead: 404)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.access.ownership import visible_lead_sources
from chalicelib.core.errors import MalformedInput, ServiceBusy
from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.retry import tries
from chalicelib.db.transactions import Cancelled, Transaction
from chalicelib.models.leads import Lead, LeadNote, get_lead_row, lead_notes, note_key
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import NoteOut

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal
    from chalicelib.db.retry import RetryPolicy

__all__ = ["NOTE", "add_note", "add_note_to", "list_notes", "note_out"]

NOTE, _LEAD = "note", "lead"


def note_out(row: LeadNote) -> NoteOut:
    return NoteOut(
        id=int(row.seq),
        lead_id=row.note_lead_id,
        text=row.text,
        author=row.author,
        author_role=row.author_role,
        created_at=row.created_at,
        appeal_id=row.appeal_id,
    )


def add_note_to(
    tx: Transaction, lead: Lead, text: str, *, viewer: Principal, at: str, appeal_id: str | None = None
) -> LeadNote:
    """Adds the lead's next note (as `lead` was read) to `tx`: the number is taken
    from the lead's counter, and the put fails on label `note` if another note took it."""
    seq = int(lead.notes_count or 0) + 1
    note = LeadNote(
        note_key(lead.lead_id, seq),
        note_lead_id=lead.lead_id,
        seq=seq,
        text=text,
        author=viewer.operator_id or viewer.subject,
        author_role=viewer.role,
        created_at=at,
        appeal_id=appeal_id,
    )
    tx.update(_LEAD, Lead(lead.lead_id), [Lead.notes_count.set(seq)], Lead.lead_id.exists())
    tx.put(NOTE, note, LeadNote.key.does_not_exist())
    return note


def add_note(lead_id: str, text: str, *, viewer: Principal, policy: RetryPolicy | None = None) -> NoteOut:
    visible_lead_sources(lead_id, viewer)
    for _ in tries(policy):
        row = get_lead_row(lead_id, consistent=True)
        tx = Transaction()
        note = add_note_to(tx, row, text, viewer=viewer, at=iso(utc_now()))
        seq = int(note.seq)
        try:
            tx.commit()
        except Cancelled as failure:
            if failure.failed(NOTE) or failure.contended:
                continue  # another note took this number: take the next
            raise
        logger.info("lead note added", extra={"lead_id": lead_id, "seq": seq, "author_role": viewer.role})
        return note_out(note)
    raise ServiceBusy("this lead's notes are changing too fast; retry shortly")


def list_notes(lead_id: str, limit: int, cursor: str | None, *, viewer: Principal) -> Page[NoteOut]:
    """Newest first; the cursor is the sequence number to continue below."""
    visible_lead_sources(lead_id, viewer)
    total = int(get_lead_row(lead_id).notes_count or 0)
    if cursor is not None and (not cursor.isdigit() or int(cursor) > 10**6):
        raise MalformedInput("cursor is not valid; pass back the `next` value unchanged")
    last = min(int(cursor), total) if cursor is not None else total
    first = max(1, last - limit + 1)
    notes = [note_out(row) for row in lead_notes(lead_id, first, last)]
    return Page[NoteOut](items=notes, next=str(first - 1) if first > 1 else None)
