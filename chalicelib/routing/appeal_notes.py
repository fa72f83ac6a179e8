"""Notes on an appeal: a note on its lead (funnel/notes.py) that names the
appeal, written with the appeal's own link to it and, on an accepted appeal
with follow-up, the restart of its follow-up clock, all in one transaction.
The appeal's operator or an admin writes and reads them; anyone else meets a
404, as for a missing appeal. The text is personal data: never logged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.access.ownership import ensure_sees_appeal
from chalicelib.core.errors import MalformedInput, ServiceBusy
from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import logger
from chalicelib.db.retry import tries
from chalicelib.db.transactions import Cancelled, Transaction
from chalicelib.funnel.notes import NOTE, add_note_to, note_out
from chalicelib.models.appeals import (
    Appeal,
    AppealNoteLink,
    appeal_note_key,
    appeal_note_links,
    get_appeal_row,
)
from chalicelib.models.leads import get_lead_row, lead_notes_numbered
from chalicelib.routing import transitions
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import NoteOut

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal
    from chalicelib.db.retry import RetryPolicy

__all__ = ["add_appeal_note", "list_appeal_notes"]

_LINK = "appeal_note"


def add_appeal_note(appeal_id: str, text: str, *, viewer: Principal, policy: RetryPolicy | None = None) -> NoteOut:
    for _ in tries(policy):
        row = get_appeal_row(appeal_id)
        ensure_sees_appeal(row, viewer)
        lead = get_lead_row(row.lead_id, consistent=True)
        now = utc_now()
        seq = int(row.notes_count or 0) + 1
        tx = Transaction()
        note = add_note_to(tx, lead, text, viewer=viewer, at=iso(now), appeal_id=appeal_id)
        tx.put(_LINK, AppealNoteLink(appeal_note_key(appeal_id, seq), lead_note_seq=note.seq), None)
        counted = Appeal.notes_count == row.notes_count if row.notes_count else Appeal.notes_count.does_not_exist()
        tx.update(transitions.APPEAL, Appeal(appeal_id), [Appeal.notes_count.set(seq)], counted)
        # A note is activity: an accepted appeal's follow-up clock starts again (same item, merged).
        transitions.record_activity(tx, row, now=now)
        try:
            tx.commit()
        except Cancelled as failure:
            if failure.failed(NOTE) or failure.failed(transitions.APPEAL) or failure.contended:
                continue  # another note, or the follow-up job, came first: look again
            raise
        logger.info(
            "appeal note added",
            extra={"appeal_id": appeal_id, "lead_id": row.lead_id, "seq": seq, "author_role": viewer.role},
        )
        return note_out(note)
    raise ServiceBusy("this appeal's notes are changing too fast; retry shortly")


def list_appeal_notes(appeal_id: str, limit: int, cursor: str | None, *, viewer: Principal) -> Page[NoteOut]:
    """Newest first; the cursor is the appeal's note number to continue below."""
    row = get_appeal_row(appeal_id)
    ensure_sees_appeal(row, viewer)
    total = int(row.notes_count or 0)
    if cursor is not None and (not cursor.isdigit() or int(cursor) > 10**6):
        raise MalformedInput("cursor is not valid; pass back the `next` value unchanged")
    last = min(int(cursor), total) if cursor is not None else total
    first = max(1, last - limit + 1)
    notes = lead_notes_numbered(row.lead_id, appeal_note_links(appeal_id, first, last))
    items = [note_out(note) for note in notes]
    return Page[NoteOut](items=items, next=str(first - 1) if first > 1 else None)
