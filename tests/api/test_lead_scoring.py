"""Scoring leads: the rules scorer, scoring now, rescoring only what changed,
and the guarantee that scoring only advises."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.core.config import current_settings
from chalicelib.core.ids import iso, lead_id_for
from chalicelib.db.tables import LISTED
from chalicelib.funnel.lead_state import MAX_HISTORY_EVENTS, lead_event
from chalicelib.models import Lead, ScoringModel, count_requests
from chalicelib.models.leads import CURRENT_MODEL_KEY, LOST, TRANSFERRED, model_key
from chalicelib.scoring.base import LeadFeatures, Score, recommend
from chalicelib.scoring.llm import LlmScorer
from chalicelib.scoring.rules import RulesScorer
from chalicelib.scoring.service import analyze_lead, configured_scorer, rescore_changed, train_from_outcomes
from tests.support import Api, on_dynamodb_call


def scored_ids(api: Api) -> dict[str, str | None]:
    return {lead["id"]: lead["scored_at"] for lead in api.get("/leads?limit=200").body["items"]}


# --- the rules scorer ----------------------------------------------------------


def test_GIVEN_a_fresh_lead_WHEN_rules_score_it_THEN_the_prior_alone_and_advice_to_keep_qualifying() -> None:
    score = RulesScorer().score(LeadFeatures(message_count=1, appeals_count=1))

    assert score.score == 0.30
    assert score.recommendation == "continue_qualification"
    assert [(f.feature, f.contribution) for f in score.factors] == [("prior", 0.30)]
    assert score.model_version == "rules-v1"
    assert "no factor beyond the base" in score.reason


def test_GIVEN_an_engaged_qualified_lead_with_a_domain_WHEN_rules_score_it_THEN_each_point_is_a_named_factor() -> None:
    features = LeadFeatures(
        source_points=0.1, stage="qualified", message_count=4, appeals_count=2, business_domain="retail"
    )

    score = RulesScorer().score(features)

    contributions = {f.feature: f.contribution for f in score.factors}
    assert contributions == {
        "prior": 0.30,
        "stage=qualified": 0.2,
        "business_domain": 0.2,
        "source": 0.1,
        "message_count": 0.09,
        "returning_lead": 0.05,
    }  # days_since_created (0) says nothing, so it is left out
    assert score.score == pytest.approx(0.30 + 0.2 + 0.2 + 0.1 + 0.09 + 0.05)
    assert score.recommendation == "transfer_to_sales"
    assert "stage=qualified +0.20" in score.reason


def test_GIVEN_an_old_quiet_lead_WHEN_rules_score_it_THEN_it_cools_off_and_drop_is_advised() -> None:
    score = RulesScorer().score(LeadFeatures(source_points=-0.1, days_since_created=45))

    assert score.score == pytest.approx(0.05)
    assert score.recommendation == "drop_lead"
    assert [f.feature for f in score.factors] == ["prior", "days_since_created", "source"]


@pytest.mark.parametrize(
    ("score", "domain", "advice"),
    [
        (0.6, "retail", "transfer_to_sales"),
        (0.95, None, "continue_qualification"),
        (0.59, "retail", "continue_qualification"),
        (0.25, None, "continue_qualification"),
        (0.2499, "retail", "drop_lead"),
    ],
)
def test_GIVEN_a_score_WHEN_turned_into_advice_THEN_thresholds_and_the_domain_rule_hold(
    score: float, domain: str | None, advice: str
) -> None:
    recommendation, reason = recommend(score, LeadFeatures(business_domain=domain))

    assert recommendation == advice
    assert f"{score:.2f}" in reason


# --- scoring now ---------------------------------------------------------------


def test_GIVEN_a_lead_WHEN_analyzed_THEN_score_reason_factors_and_version_are_stored(api: Api) -> None:
    source = api.source(lead_points=0.2)
    lead_id = api.appeal(source["id"])["lead_id"]

    reply = api.post(f"/leads/{lead_id}/analyze")

    assert reply.status == 200, reply.body
    lead = reply.body
    assert lead["ai_score"] == pytest.approx(0.5)
    assert lead["ai_recommendation"] == "continue_qualification"
    assert lead["ai_factors"] == [
        {"feature": "prior", "contribution": 0.3},
        {"feature": "source", "contribution": 0.2},
    ]
    assert lead["model_version"] == "rules-v1" and lead["scored_at"] is not None
    assert lead["score_stale"] is False
    assert api.get(f"/leads/{lead_id}").body == lead


def test_GIVEN_a_score_WHEN_an_input_changes_THEN_the_lead_says_its_score_is_stale(api: Api) -> None:
    source = api.source()
    lead_id = api.appeal(source["id"])["lead_id"]
    api.post(f"/leads/{lead_id}/analyze")

    renamed = api.patch(f"/leads/{lead_id}", {"name": "Ivan"}).body
    domain = api.patch(f"/leads/{lead_id}", {"business_domain": "retail"}).body

    assert renamed["score_stale"] is False  # a name is not a scoring input
    assert domain["score_stale"] is True


@pytest.mark.parametrize("stage_path", [[], ["contacted"], ["contacted", "qualified"]])
def test_GIVEN_a_lead_scoring_high_WHEN_analyzed_or_rescored_THEN_its_stage_never_changes(
    api: Api, stage_path: list[str]
) -> None:
    source = api.source(lead_points=0.3)
    lead_id = api.appeal(source["id"])["lead_id"]
    api.patch(f"/leads/{lead_id}", {"business_domain": "retail"})
    for stage in stage_path:
        api.post(f"/leads/{lead_id}/stage", {"stage": stage})
    stage = api.get(f"/leads/{lead_id}").body["stage"]

    analyzed = api.post(f"/leads/{lead_id}/analyze").body
    api.patch(f"/leads/{lead_id}", {"business_domain": "wholesale"})
    rescore_changed()

    after = api.get(f"/leads/{lead_id}").body
    assert analyzed["ai_recommendation"] == "transfer_to_sales"
    assert after["stage"] == stage == analyzed["stage"]
    assert after["deal_id"] is None
    assert api.get("/deals").body["items"] == []


# --- the rescoring job ---------------------------------------------------------


def test_GIVEN_new_leads_WHEN_the_rescoring_job_runs_twice_THEN_each_is_scored_once(api: Api) -> None:
    source = api.source()
    lead_ids = {api.appeal(source["id"])["lead_id"] for _ in range(3)}

    first = rescore_changed()
    after_first = scored_ids(api)
    second = rescore_changed()

    assert first.scored == 3 and first.more_due is False
    assert set(after_first) == lead_ids and all(after_first.values())
    assert second.scored == 0
    assert scored_ids(api) == after_first


def test_GIVEN_one_changed_lead_among_many_WHEN_rescoring_THEN_only_it_is_read_and_scored(api: Api) -> None:
    source = api.source()
    lead_ids = [api.appeal(source["id"])["lead_id"] for _ in range(12)]
    rescore_changed()
    before = scored_ids(api)
    api.patch(f"/leads/{lead_ids[4]}", {"business_domain": "retail"})

    with count_requests() as counts:
        report = rescore_changed()

    after = scored_ids(api)
    assert report.scored == 1
    assert [lead_id for lead_id in lead_ids if after[lead_id] != before[lead_id]] == [lead_ids[4]]
    # One index Query, one BatchGetItem of the due lead and one of its source, one write.
    assert dict(counts) == {"Query": 1, "BatchGetItem": 2, "UpdateItem": 1}


def test_GIVEN_nothing_changed_WHEN_the_rescoring_job_runs_THEN_it_costs_one_query(api: Api) -> None:
    source = api.source()
    for _ in range(5):
        api.appeal(source["id"])
    rescore_changed()

    with count_requests() as counts:
        report = rescore_changed()

    assert report.scored == 0
    assert dict(counts) == {"Query": 1}


def test_GIVEN_more_due_than_the_limit_WHEN_rescoring_THEN_the_oldest_are_scored_and_the_rest_wait(
    api: Api,
) -> None:
    source = api.source()
    lead_ids = [api.appeal(source["id"])["lead_id"] for _ in range(5)]

    first = rescore_changed(limit=3)
    scored = {lead_id for lead_id, at in scored_ids(api).items() if at}
    rest = rescore_changed(limit=3)

    assert (first.scored, first.more_due) == (3, True)
    assert scored == set(lead_ids[:3])
    assert (rest.scored, rest.more_due) == (2, False)


def test_GIVEN_inputs_changing_while_scored_WHEN_the_job_writes_THEN_the_stale_score_is_dropped_and_retried_later(
    api: Api,
) -> None:
    source = api.source()
    lead_id = api.appeal(source["id"])["lead_id"]
    changed = []

    def a_message_arrives(**_: object) -> None:
        if not changed:
            changed.append(True)
            api.appeal(source["id"], lead_external_id=api.get(f"/leads/{lead_id}").body["external_id"])

    with on_dynamodb_call("UpdateItem", a_message_arrives):
        report = rescore_changed()
    lead = api.get(f"/leads/{lead_id}").body
    again = rescore_changed()

    assert (report.scored, report.changed_meanwhile) == (0, 1)
    assert lead["scored_at"] is None and lead["message_count"] == 2
    assert again.scored == 1
    assert api.get(f"/leads/{lead_id}").body["ai_factors"] == [
        {"feature": "prior", "contribution": 0.3},
        {"feature": "returning_lead", "contribution": 0.05},
        {"feature": "message_count", "contribution": 0.03},
    ]


def test_GIVEN_leads_that_reached_a_final_stage_WHEN_rescoring_THEN_they_leave_the_list_unscored(api: Api) -> None:
    source = api.source()
    lost = api.appeal(source["id"])["lead_id"]
    api.post(f"/leads/{lost}/stage", {"stage": "lost"})
    kept = api.appeal(source["id"])["lead_id"]
    Lead(lost).update(actions=[Lead.rescore_due.set("due"), Lead.rescore_since.set("2026-01-01T00:00:00.000000Z")])

    report = rescore_changed()

    assert (report.scored, report.settled_final) == (1, 1)
    assert api.get(f"/leads/{lost}").body["scored_at"] is None
    assert api.get(f"/leads/{kept}").body["scored_at"] is not None
    assert rescore_changed().scored == rescore_changed().settled_final == 0


def test_GIVEN_the_admin_route_WHEN_rescore_is_run_THEN_it_reports_the_job(api: Api) -> None:
    source = api.source()
    api.appeal(source["id"])

    reply = api.post("/admin/jobs/rescore/run")

    assert reply.status == 200, reply.body
    assert reply.body["scored"] == 1 and reply.body["scorer"] == "rules"


# --- the learnt model ------------------------------------------------------------


def seed_outcomes(transferred: int, lost: int) -> None:
    """Outcome leads as the funnel leaves them: retail leads with many
    messages were transferred, the rest lost (signal the model must find)."""
    now = datetime.now(UTC)
    with Lead.batch_write() as batch:
        for i in range(transferred + lost):
            won = i < transferred
            external = f"outcome:{i}"
            batch.save(
                Lead(
                    lead_id_for(external),
                    external_id=external,
                    source_id="src_outcomes000001",
                    stage=TRANSFERRED if won else LOST,
                    stage_changed_at=iso(now - timedelta(minutes=i)),
                    message_count=(6 if won else 1) + i % 3,
                    appeals_count=1,
                    business_domain=("retail" if won else "other") if i % 5 else None,
                    created_at=iso(now - timedelta(days=3)),
                    updated_at=iso(now),
                    listed=LISTED,
                )
            )


def test_GIVEN_too_few_outcomes_WHEN_training_THEN_no_model_and_the_rules_keep_answering(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_outcomes(transferred=29, lost=40)
    monkeypatch.setenv("SCORER", "model")
    lead_id = api.appeal(api.source()["id"])["lead_id"]

    report = train_from_outcomes()

    assert report.trained is False and report.version is None
    assert (report.positives, report.negatives) == (29, 40)
    assert "needs 30 outcomes of each class" in report.reason
    assert api.post(f"/leads/{lead_id}/analyze").body["model_version"] == "rules-v1"


def test_GIVEN_enough_outcomes_WHEN_trained_twice_THEN_versions_are_kept_and_the_model_scores_with_reasons(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_outcomes(transferred=40, lost=40)
    monkeypatch.setenv("SCORER", "model")
    source = api.source()
    warm = api.appeal(source["id"])["lead_id"]
    api.patch(f"/leads/{warm}", {"business_domain": "retail"})

    first, second = train_from_outcomes(), api.post("/admin/jobs/train/run").body
    scored = api.post(f"/leads/{warm}/analyze").body

    assert (first.trained, first.version, second["version"]) == (True, 1, 2)
    assert first.holdout_auc is not None and first.holdout_auc > 0.9
    assert {ScoringModel.get(model_key(v)).version for v in (1, 2)} == {1, 2}
    assert ScoringModel.get(CURRENT_MODEL_KEY).version == 2
    assert scored["model_version"] == "model-v2"
    assert "business_domain=retail" in [f["feature"] for f in scored["ai_factors"]]
    assert "learnt from 80 outcomes" in scored["ai_reason"]
    assert api.get(f"/leads/{warm}/history").body["events"][-1]["model_version"] == "model-v2"


def test_GIVEN_the_llm_scorer_failing_WHEN_a_lead_is_analyzed_THEN_the_fallback_answers_and_it_is_recorded(
    api: Api,
) -> None:
    lead_id = api.appeal(api.source()["id"])["lead_id"]
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
        lead = analyze_lead(lead_id, scorer=LlmScorer(client, "anthropic.claude-test", fallback=RulesScorer()))

    assert lead.model_version == "rules-v1"
    assert lead.score_fallback_reason == "llm failed: ThrottlingException"
    scored = api.get(f"/leads/{lead_id}/history").body["events"][-1]
    assert scored["fallback_reason"] == "llm failed: ThrottlingException"
    assert api.get(f"/leads/{lead_id}").body["score_fallback_reason"] == "llm failed: ThrottlingException"


def test_GIVEN_scorer_llm_without_a_model_id_WHEN_configured_THEN_the_next_scorer_answers(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCORER", "llm")
    monkeypatch.delenv("BEDROCK_MODEL_ID", raising=False)

    assert configured_scorer().name == "rules"


class SlowScorer:
    """A scorer as slow as a remote model on a bad day (same interface)."""

    name = "rules"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0

    def score(self, features: LeadFeatures) -> Score:
        self.calls += 1
        time.sleep(self.seconds)
        return RulesScorer().score(features)


def test_GIVEN_a_slow_scorer_WHEN_the_run_exceeds_its_time_budget_THEN_it_stops_and_leaves_the_rest_due(
    api: Api,
) -> None:
    source = api.source()
    for _ in range(4):
        api.appeal(source["id"])
    slow = SlowScorer(0.2)

    report = rescore_changed(scorer=slow, budget_seconds=0.3)

    assert report.more_due is True
    assert report.scored == slow.calls < 4
    assert rescore_changed().scored == 4 - report.scored


# --- what the review found -----------------------------------------------------


def test_GIVEN_the_same_score_again_WHEN_analyzed_in_a_loop_THEN_history_records_it_once(api: Api) -> None:
    lead_id = api.appeal(api.source()["id"])["lead_id"]

    for _ in range(5):
        assert api.post(f"/leads/{lead_id}/analyze").status == 200

    assert [e["type"] for e in api.get(f"/leads/{lead_id}/history").body["events"]] == ["scored"]


def test_GIVEN_a_history_at_its_cap_WHEN_a_new_score_lands_THEN_the_oldest_event_gives_way(api: Api) -> None:
    lead_id = api.appeal(api.source()["id"])["lead_id"]
    old = [lead_event("stage_changed", f"2026-01-01T00:00:{i % 60:02d}.000000Z") for i in range(MAX_HISTORY_EVENTS)]
    Lead(lead_id).update(actions=[Lead.events.set(old)])

    api.post(f"/leads/{lead_id}/analyze")

    events = api.get(f"/leads/{lead_id}/history").body["events"]
    assert len(events) == MAX_HISTORY_EVENTS
    assert events[-1]["type"] == "scored"
    assert [e["type"] for e in events[:-1]] == ["stage_changed"] * (MAX_HISTORY_EVENTS - 1)


class BrokenFor:
    """Fails on one lead (as a poisoned row would), scores the rest (same interface)."""

    name = "rules"

    def __init__(self, messages: int) -> None:
        self.messages = messages

    def score(self, features: LeadFeatures) -> Score:
        if features.message_count == self.messages:
            raise RuntimeError("this lead cannot be scored")
        return RulesScorer().score(features)


def test_GIVEN_one_lead_that_cannot_be_scored_WHEN_rescoring_THEN_the_others_are_scored_and_it_stays_due(
    api: Api,
) -> None:
    source = api.source()
    broken = api.appeal(source["id"], lead_external_id="tg:broken")["lead_id"]
    api.appeal(source["id"], lead_external_id="tg:broken")  # 2 messages: the one the scorer fails on
    fine = [api.appeal(source["id"])["lead_id"] for _ in range(3)]

    report = rescore_changed(scorer=BrokenFor(messages=2))

    assert (report.scored, report.failed) == (3, 1)
    assert all(api.get(f"/leads/{lead_id}").body["scored_at"] for lead_id in fine)
    assert Lead.get(broken).rescore_due is not None


class MovesToLost:
    """Marks the lead lost between the job's read and its write (same interface)."""

    name = "rules"

    def __init__(self, api: Api, lead_id: str) -> None:
        self.api, self.lead_id = api, lead_id

    def score(self, features: LeadFeatures) -> Score:
        assert self.api.post(f"/leads/{self.lead_id}/stage", {"stage": "lost"}).status == 200
        return RulesScorer().score(features)


def test_GIVEN_a_lead_marked_lost_while_scored_WHEN_the_score_is_written_THEN_it_is_refused(api: Api) -> None:
    lead_id = api.appeal(api.source()["id"])["lead_id"]

    report = rescore_changed(scorer=MovesToLost(api, lead_id))

    lead = api.get(f"/leads/{lead_id}").body
    assert report.changed_meanwhile == 1
    assert lead["stage"] == "lost" and lead["ai_score"] is None
    assert rescore_changed().scored == 0  # final: nothing left to score


def test_GIVEN_a_score_made_before_an_input_changed_WHEN_transferred_THEN_409_says_it_is_stale(api: Api) -> None:
    lead_id = api.appeal(api.source()["id"])["lead_id"]
    api.patch(f"/leads/{lead_id}", {"business_domain": "retail"})
    for stage in ("contacted", "qualified"):
        api.post(f"/leads/{lead_id}/stage", {"stage": stage})
    api.post(f"/leads/{lead_id}/analyze")
    api.patch(f"/leads/{lead_id}", {"business_domain": "gambling"})

    refused = api.post(f"/leads/{lead_id}/transfer")
    api.post(f"/leads/{lead_id}/analyze")
    accepted = api.post(f"/leads/{lead_id}/transfer")

    assert refused.status == 409
    assert "its score is stale" in refused.body["message"]
    assert accepted.status == 201, accepted.body


@pytest.mark.parametrize("raw", ["5s", "nan", "0", "-1", "inf"])
def test_GIVEN_a_malformed_bedrock_timeout_WHEN_settings_are_read_THEN_the_default_applies(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("BEDROCK_TIMEOUT_SECONDS", raw)

    assert current_settings().bedrock_timeout_seconds == 5.0


class AnalyzedMeanwhile:
    """Someone presses analyze between the job's read and its write (same interface)."""

    name = "rules"

    def __init__(self, api: Api, lead_id: str) -> None:
        self.api, self.lead_id = api, lead_id

    def score(self, features: LeadFeatures) -> Score:
        assert self.api.post(f"/leads/{self.lead_id}/analyze").status == 200
        return RulesScorer().score(features.model_copy(update={"source_points": 0.3}))


def test_GIVEN_an_analyze_landing_while_the_job_scores_WHEN_the_job_writes_THEN_it_is_refused_and_history_has_one_score(
    api: Api,
) -> None:
    lead_id = api.appeal(api.source()["id"])["lead_id"]

    report = rescore_changed(scorer=AnalyzedMeanwhile(api, lead_id))

    assert report.changed_meanwhile == 1 and report.scored == 0
    events = api.get(f"/leads/{lead_id}/history").body["events"]
    assert [(e["type"], e["trigger"]) for e in events] == [("scored", "analyze")]
