"""Funnel and scoring races on the real engine (moto's conditions are not atomic).

The stage and transfer tests run rounds of threads released together on a
barrier. The scoring test does not leave the interleaving to chance: its
scorer holds the job between read and write while messages land.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from chalicelib.access.principal import SYSTEM
from chalicelib.core.errors import Conflict
from chalicelib.funnel import deals, leads, transfer
from chalicelib.models import Lead
from chalicelib.models.leads import RESCORE_DUE
from chalicelib.routing.intake import submit_appeal
from chalicelib.schemas.leads import LeadPatch
from chalicelib.scoring import service as scoring
from chalicelib.scoring.rules import RulesScorer
from tests.integration.helpers import appeal_for, new_operator, new_source, race, warm_up

if TYPE_CHECKING:
    from chalicelib.scoring.base import LeadFeatures, Score

ROUNDS = 10
THREADS = 8


def outcome(work) -> str:
    try:
        work()
    except Conflict as refusal:
        return f"409 {refusal.message}"
    return "ok"


def qualified_lead(source_id: str) -> str:
    lead_id = submit_appeal(appeal_for(source_id), viewer=SYSTEM).appeal.lead_id
    leads.update_lead(lead_id, LeadPatch(business_domain="retail"), viewer=SYSTEM)
    leads.change_stage(lead_id, "contacted", viewer=SYSTEM)
    leads.change_stage(lead_id, "qualified", viewer=SYSTEM)
    scoring.analyze_lead(lead_id, scorer=RulesScorer())
    return lead_id


def test_GIVEN_a_new_lead_WHEN_8_people_move_it_forward_at_once_THEN_exactly_one_move_happens(
    real_tables: str,
) -> None:
    warm_up()
    source = new_source({new_operator().id: 1})
    for _ in range(ROUNDS):
        lead_id = submit_appeal(appeal_for(source.id), viewer=SYSTEM).appeal.lead_id

        results = race(
            THREADS, lambda _, lead_id=lead_id: outcome(lambda: leads.change_stage(lead_id, "contacted", viewer=SYSTEM))
        )

        assert results.count("ok") == 1, results
        assert all("already contacted" in r for r in results if r != "ok"), results
        history = leads.get_history(lead_id).events
        assert [(e.from_stage, e.to_stage) for e in history] == [("new", "contacted")]


WANTED = ["contacted", "lost"] * (THREADS // 2)


def test_GIVEN_a_new_lead_WHEN_some_move_it_forward_and_some_drop_it_at_once_THEN_history_is_one_legal_chain(
    real_tables: str,
) -> None:
    """A loser re-judges its move against the stage it lost to: `lost` after
    `contacted` is still legal, `contacted` after `lost` is not."""
    warm_up()
    source = new_source({new_operator().id: 1})
    for _ in range(ROUNDS):
        lead_id = submit_appeal(appeal_for(source.id), viewer=SYSTEM).appeal.lead_id

        results = race(
            THREADS, lambda i, lead_id=lead_id: outcome(lambda: leads.change_stage(lead_id, WANTED[i], viewer=SYSTEM))
        )

        chain = [(e.from_stage, e.to_stage) for e in leads.get_history(lead_id).events]
        assert chain in ([("new", "lost")], [("new", "contacted"), ("contacted", "lost")]), chain
        assert results.count("ok") == len(chain), results
        assert leads.get_lead(lead_id, viewer=SYSTEM).stage == "lost"


def test_GIVEN_a_qualified_lead_WHEN_8_transfers_race_THEN_one_deal_and_seven_409s(real_tables: str) -> None:
    warm_up()
    source = new_source({new_operator().id: 1})
    for _ in range(ROUNDS):
        lead_id = qualified_lead(source.id)

        results = race(
            THREADS, lambda _, lead_id=lead_id: outcome(lambda: transfer.transfer_lead(lead_id, viewer=SYSTEM))
        )

        assert results.count("ok") == 1, results
        assert all("already transferred" in r for r in results if r != "ok"), results
        lead = leads.get_lead(lead_id, viewer=SYSTEM)
        assert lead.stage == "transferred" and lead.deal_id == deals.deal_id_for(lead_id)
        assert [e.type for e in leads.get_history(lead_id).events].count("transferred") == 1
    assert len(deals.list_deals(200, None).items) == ROUNDS


def test_GIVEN_a_deal_WHEN_8_people_advance_it_at_once_THEN_it_moves_one_step(real_tables: str) -> None:
    warm_up()
    source = new_source({new_operator().id: 1})
    for _ in range(ROUNDS):
        deal_id = transfer.transfer_lead(qualified_lead(source.id), viewer=SYSTEM).deal.id

        results = race(THREADS, lambda _, deal_id=deal_id: outcome(lambda: deals.change_deal_stage(deal_id, "kyc")))

        assert results.count("ok") == 1, results
        deal = deals.get_deal(deal_id)
        assert deal.stage == "kyc" and [e.type for e in deal.history] == ["created", "stage_changed"]


class GatedScorer:
    """Rules, but holds each score until the test lets it go: messages land
    between the job's read and its write (same interface as any scorer)."""

    name = "rules"

    def __init__(self) -> None:
        self.reading = threading.Event()
        self.release = threading.Event()

    def score(self, features: LeadFeatures) -> Score:
        self.reading.set()
        self.release.wait(30)
        return RulesScorer().score(features)


def test_GIVEN_messages_arriving_while_the_job_scores_THEN_no_score_claims_inputs_it_did_not_see(
    real_tables: str,
) -> None:
    warm_up()
    source = new_source({new_operator(max_load=1000).id: 1})
    external = "it:busy-lead"
    lead_id = submit_appeal(appeal_for(source.id, external_id=external), viewer=SYSTEM).appeal.lead_id
    changed_meanwhile = 0
    for round_number in range(ROUNDS):
        if round_number:
            submit_appeal(appeal_for(source.id, external_id=external), viewer=SYSTEM)  # due again
        gated = GatedScorer()
        reports: list[object] = []
        job = threading.Thread(
            target=lambda gated=gated, reports=reports: reports.append(scoring.rescore_changed(scorer=gated))
        )
        job.start()
        assert gated.reading.wait(30), reports
        race(4, lambda _: submit_appeal(appeal_for(source.id, external_id=external), viewer=SYSTEM))
        gated.release.set()
        job.join(30)

        row = Lead.get(lead_id, consistent_read=True)
        # The score was refused: it describes inputs older than the row's.
        assert row.rescore_due == RESCORE_DUE
        assert int(row.scored_inputs_version or 0) < int(row.inputs_version)
        changed_meanwhile += 1
        # Nothing arrives during the next run: it scores, and the versions meet.
        assert scoring.rescore_changed(scorer=RulesScorer()).scored == 1
        row = Lead.get(lead_id, consistent_read=True)
        assert row.rescore_due is None and int(row.scored_inputs_version) == int(row.inputs_version)
        assert int(row.message_count) == int(row.appeals_count)
    assert changed_meanwhile == ROUNDS
