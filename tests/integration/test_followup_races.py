"""The follow-up job on the real engine: the sparse index it reads, and a note racing
its action. The job reads a due appeal, then acts under the condition that the due
instant is still the one it read; a note moves that instant in its own transaction.
Whichever commits first wins, and the other sees it: the job skips (the note came
first) or the note lands on an appeal already taken (the job came first) and
restarts nothing. Never both, never a half.

The first two tests fix the interleaving (read, the other writer, then the job's
write); the third releases both writers together on a barrier, round after round.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.access.principal import SYSTEM
from chalicelib.core.ids import iso, utc_now
from chalicelib.directory import sources
from chalicelib.models.appeals import ACTIVE, WAITING, followup_due, get_appeal_row
from chalicelib.routing import appeals
from chalicelib.routing.appeal_notes import add_appeal_note, list_appeal_notes
from chalicelib.routing.followup_job import follow_up, run_followup
from chalicelib.routing.intake import submit_appeal
from chalicelib.schemas.sources import SourcePatch
from tests.integration.helpers import (
    appeal_for,
    counter_problems,
    new_operator,
    new_source,
    race,
    snapshot,
    warm_up,
)

if TYPE_CHECKING:
    from datetime import datetime

PERIOD = 60
ROUNDS = 8


def followup_source() -> tuple[str, str]:
    operator = new_operator("Anna", max_load=ROUNDS + 2)
    source = new_source({operator.id: 10})
    sources.update_source(source.id, SourcePatch(followup_seconds=PERIOD, followup_action="escalate"))
    return source.id, operator.id


def accepted_appeal(source_id: str, operator_id: str) -> str:
    appeal = submit_appeal(appeal_for(source_id), viewer=SYSTEM).appeal
    appeals.accept_appeal(appeal.id, operator_id, viewer=SYSTEM)
    return appeal.id


def counters_agree() -> list[str]:
    """`counter_problems`, less assigned_total: it counts appeals ever assigned, which an escalation keeps."""
    return [problem for problem in counter_problems(snapshot()) if "assigned_total" not in problem]


def reminded(appeal_id: str) -> datetime:
    """Runs the job once the appeal is quiet for a period (it is reminded); returns when the action is due."""
    now = utc_now() + timedelta(seconds=PERIOD + 5)
    assert run_followup(now=now).reminded >= 1
    assert get_appeal_row(appeal_id).followup_reminded_at is not None
    return now + timedelta(seconds=PERIOD + 5)


def test_GIVEN_accepted_appeals_WHEN_the_job_runs_THEN_it_reads_only_the_due_ones_from_the_sparse_index(
    real_tables: str,
) -> None:
    warm_up()
    source_id, operator_id = followup_source()
    early = [accepted_appeal(source_id, operator_id) for _ in range(3)]
    cutoff = utc_now() + timedelta(seconds=PERIOD)
    later = accepted_appeal(source_id, operator_id)
    appeals.close_appeal(early[0], viewer=SYSTEM)

    due = [row.appeal_id for row in followup_due(iso(cutoff))]

    # Earliest first; the closed one left the index, the later one is not due yet.
    assert due == early[1:]
    assert later not in due


def test_GIVEN_the_job_read_a_due_appeal_WHEN_a_note_lands_before_its_action_THEN_the_job_skips(
    real_tables: str,
) -> None:
    warm_up()
    source_id, operator_id = followup_source()
    appeal_id = accepted_appeal(source_id, operator_id)
    act_at = reminded(appeal_id)
    (read,) = [row for row in followup_due(iso(act_at)) if row.appeal_id == appeal_id]

    add_appeal_note(appeal_id, "Called the lead, they will decide tomorrow", viewer=SYSTEM)
    outcome = follow_up(read, act_at)

    assert outcome == "skipped"
    row = get_appeal_row(appeal_id)
    assert (row.status, row.operator_id, row.followup_reminded_at) == (ACTIVE, operator_id, None)
    assert row.followup_due_at != read.followup_due_at
    assert counters_agree() == []


def test_GIVEN_the_job_acted_WHEN_a_note_comes_after_THEN_it_is_kept_and_restarts_nothing(real_tables: str) -> None:
    warm_up()
    source_id, operator_id = followup_source()
    appeal_id = accepted_appeal(source_id, operator_id)
    act_at = reminded(appeal_id)

    assert run_followup(now=act_at).escalated == 1
    note = add_appeal_note(appeal_id, "Too late?", viewer=SYSTEM)

    row = get_appeal_row(appeal_id)
    assert (row.status, row.escalated, row.followup_queue, row.followup_due_at) == (WAITING, True, None, None)
    assert [n.id for n in list_appeal_notes(appeal_id, 10, None, viewer=SYSTEM).items] == [note.id]
    assert counters_agree() == []


def test_GIVEN_notes_and_the_job_released_together_WHEN_racing_THEN_each_round_ends_one_way(real_tables: str) -> None:
    warm_up()
    source_id, operator_id = followup_source()
    ends = []
    for _ in range(ROUNDS):
        appeal_id = accepted_appeal(source_id, operator_id)
        act_at = reminded(appeal_id)
        (read,) = [row for row in followup_due(iso(act_at)) if row.appeal_id == appeal_id]

        def work(index: int, read=read, act_at=act_at, appeal_id=appeal_id) -> str:  # type: ignore[no-untyped-def]
            if index == 0:
                return follow_up(read, act_at)
            add_appeal_note(appeal_id, "racing note", viewer=SYSTEM)
            return "noted"

        job, noted = race(2, work)

        row = get_appeal_row(appeal_id)
        notes = list_appeal_notes(appeal_id, 10, None, viewer=SYSTEM).items
        assert noted == "noted" and len(notes) == 1  # the note is always kept, exactly once
        if job == "escalated":
            # The job first: taken from Anna; the note did not put it back in the index.
            assert (row.status, row.followup_queue, row.operator_id) == (WAITING, None, None)
        else:
            # The note first: Anna keeps it, its clock restarted from the note, no reminder pending.
            assert job == "skipped"
            assert (row.status, row.operator_id, row.followup_queue) == (ACTIVE, operator_id, "due")
            assert row.followup_reminded_at is None and row.followup_due_at != read.followup_due_at
            assert row.last_activity_at == iso(notes[0].created_at)
        ends.append(job)
    assert counters_agree() == []
    assert set(ends) <= {"escalated", "skipped"}
