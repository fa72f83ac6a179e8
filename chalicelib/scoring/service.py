"""Scoring leads: now (`POST /leads/{id}/analyze`), when their inputs changed
(the rescoring job), and the daily training of the model.

Scores are advice (design guarantee 6): nothing here writes a stage, a deal
or an assignment. Each score is written only if the lead's inputs are still
the version that was scored.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import current_settings
from chalicelib.core.errors import ServiceBusy
from chalicelib.core.ids import iso, utc_now
from chalicelib.core.observability import SCORING_LATENCY_MS, logger, milliseconds
from chalicelib.db.retry import tries
from chalicelib.db.transactions import Cancelled, Transaction, commit_with_retry, update_if
from chalicelib.funnel.lead_state import capped_history, lead_event, scoring_settled
from chalicelib.funnel.leads import lead_out
from chalicelib.funnel.stages import FINAL_LEAD_STAGES, stage_of
from chalicelib.models.leads import (
    CURRENT_MODEL_KEY,
    FactorAttribute,
    Lead,
    LeadEventType,
    LeadStage,
    ScoreTrigger,
    ScoringModel,
    current_scoring_model,
    due_lead_ids,
    get_lead_row,
    lead_ids_in_stage,
    model_key,
)
from chalicelib.models.sources import Source
from chalicelib.schemas.jobs import RescoreReport, TrainingReport
from chalicelib.schemas.scoring import ModelSummary, ScoringStatus
from chalicelib.scoring.base import LeadFeatures
from chalicelib.scoring.rules import RulesScorer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pynamodb.expressions.update import Action

    from chalicelib.db.retry import RetryPolicy
    from chalicelib.schemas.leads import LeadOut
    from chalicelib.scoring.base import Score, Scorer, Value

__all__ = ["analyze_lead", "configured_scorer", "rescore_changed", "scoring_status", "train_from_outcomes"]

# Each class needs this many outcomes before a model is trained.
MIN_OUTCOMES_PER_CLASS = 30
RESCORE_LIMIT = 2000
# The function's timeout is 280 s; leave room to finish the batch in hand.
RESCORE_BUDGET_SECONDS = 200.0
_BATCH = 100


def _days_between(start: str, end: datetime | str) -> float:
    begin = datetime.fromisoformat(start)
    finish = datetime.fromisoformat(end) if isinstance(end, str) else end
    return max(0.0, (finish - begin).total_seconds() / 86400)


def features_of(row: Lead, source_points: float, now: datetime) -> LeadFeatures:
    return LeadFeatures(
        source_id=row.source_id,
        source_points=source_points,
        stage=stage_of(row),
        message_count=int(row.message_count or 0),
        appeals_count=int(row.appeals_count or 0),
        business_domain=row.business_domain,
        days_since_created=_days_between(row.created_at, now),
    )


def outcome_features(row: Lead) -> LeadFeatures:
    """What the lead looked like when its outcome was decided."""
    return LeadFeatures(
        source_id=row.source_id,
        stage=stage_of(row),
        message_count=int(row.message_count or 0),
        appeals_count=int(row.appeals_count or 0),
        business_domain=row.business_domain,
        days_since_created=_days_between(row.created_at, row.stage_changed_at or row.updated_at),
    )


# --- which scorer answers -------------------------------------------------


def load_model_scorer() -> Scorer | None:
    """The model in use, or None until one is trained (one GetItem)."""
    from chalicelib.scoring.model import ModelScorer
    from chalicelib.scoring.trainer import TrainedModel

    current = current_scoring_model()
    if current is None:
        return None
    return ModelScorer(TrainedModel.model_validate_json(current.body), int(current.version))


def configured_scorer() -> Scorer:
    """`rules` by default; `model` answers with rules until a model exists;
    `llm` falls back to whichever of those would answer."""
    settings = current_settings()
    rules = RulesScorer()
    if settings.scorer == "rules":
        return rules
    if settings.scorer not in ("model", "llm"):
        logger.warning("unknown SCORER setting; using rules", extra={"scorer": settings.scorer[:32]})
        return rules
    learnt = load_model_scorer() or rules
    if settings.scorer == "model":
        return learnt
    if settings.bedrock_model_id is None:
        logger.warning("SCORER=llm without BEDROCK_MODEL_ID; using %s", learnt.name)
        return learnt
    from chalicelib.scoring.llm import LlmScorer, bedrock_client

    client = bedrock_client(settings.region, settings.bedrock_timeout_seconds)
    return LlmScorer(client, settings.bedrock_model_id, fallback=learnt)


# --- writing a score -------------------------------------------------------


def _source_points(source_ids: set[str]) -> dict[str, float]:
    if not source_ids:
        return {}
    return {row.source_id: float(row.lead_points or 0) for row in Source.batch_get(list(source_ids))}


def _said_before(row: Lead, score: Score) -> bool:
    """The lead already holds this very score: another history line would
    say nothing new (and a lead analyzed in a loop must not grow forever)."""
    return (
        row.ai_score is not None
        and round(float(row.ai_score), 4) == score.score
        and row.ai_recommendation == score.recommendation
        and row.model_version == score.model_version
        and row.score_fallback_reason == score.fallback_reason
    )


def _score_actions(row: Lead, score: Score, trigger: ScoreTrigger, now: str) -> list[Action]:
    actions = [
        Lead.ai_score.set(score.score),
        Lead.ai_recommendation.set(score.recommendation),
        Lead.ai_reason.set(score.reason),
        Lead.ai_factors.set([FactorAttribute(feature=f.feature, contribution=f.contribution) for f in score.factors]),
        Lead.scored_at.set(now),
        Lead.model_version.set(score.model_version),
        Lead.score_fallback_reason.set(score.fallback_reason)
        if score.fallback_reason
        else Lead.score_fallback_reason.remove(),
        Lead.scored_inputs_version.set(int(row.inputs_version or 0)),
        *scoring_settled(),
    ]
    if not _said_before(row, score):
        scored = lead_event(
            LeadEventType.SCORED,
            now,
            score=score.score,
            recommendation=score.recommendation,
            model_version=score.model_version,
            fallback_reason=score.fallback_reason,
            trigger=trigger,
        )
        actions.append(capped_history(row, scored))
    return actions


def _write_score(row: Lead, score: Score, trigger: ScoreTrigger) -> bool:
    """False when the inputs (or the score) changed after `row` was read;
    nothing is written then. Every other writer of the history bumps
    `inputs_version`, so the condition also means "the history read is still
    the history", which the cap relies on."""
    seen = int(row.inputs_version or 0)
    condition = (
        Lead.inputs_version == seen if seen else Lead.inputs_version.does_not_exist() | (Lead.inputs_version == 0)
    )
    # And no other score landed since the read (analyze racing the job): the
    # capped history may rewrite the list, which must be the list it read.
    condition &= Lead.scored_at == row.scored_at if row.scored_at else Lead.scored_at.does_not_exist()
    return update_if(row, _score_actions(row, score, trigger, iso(utc_now())), condition, "lead")


def _timed_score(scorer: Scorer, features: LeadFeatures) -> tuple[Score, float]:
    started = time.perf_counter()
    score = scorer.score(features)
    elapsed_ms = (time.perf_counter() - started) * 1000
    milliseconds(SCORING_LATENCY_MS, elapsed_ms)
    return score, elapsed_ms


def _log_scored(lead_id: str, score: Score, trigger: str, elapsed_ms: float) -> None:
    logger.info(
        "lead score written",
        extra={
            "lead_id": lead_id,
            "score": score.score,
            "recommendation": score.recommendation,
            "model_version": score.model_version,
            "fallback_reason": score.fallback_reason,
            "trigger": trigger,
            "latency_ms": round(elapsed_ms, 1),
        },
    )


def analyze_lead(lead_id: str, scorer: Scorer | None = None, *, policy: RetryPolicy | None = None) -> LeadOut:
    """Scores the lead now, whatever its inputs, and returns it with the score."""
    scorer = scorer or configured_scorer()
    for _ in tries(policy):
        row = get_lead_row(lead_id, consistent=True)
        points = _source_points({row.source_id} if row.source_id else set())
        score, elapsed_ms = _timed_score(scorer, features_of(row, points.get(row.source_id or "", 0.0), utc_now()))
        if _write_score(row, score, ScoreTrigger.ANALYZE):
            _log_scored(lead_id, score, ScoreTrigger.ANALYZE, elapsed_ms)
            return lead_out(row)
    raise ServiceBusy("the lead is changing too fast to score; retry shortly")


# --- the rescoring job -----------------------------------------------------


def rescore_changed(
    limit: int = RESCORE_LIMIT, scorer: Scorer | None = None, budget_seconds: float = RESCORE_BUDGET_SECONDS
) -> RescoreReport:
    """Scores every lead whose inputs changed since its last score: one Query
    page and one BatchGetItem per 100 due leads, then one conditional
    UpdateItem each. Leads whose inputs did not change are never read.

    Stops at `limit` leads or after `budget_seconds` (a slow scorer such as
    an LLM must not outlive the function); the rest wait for the next run."""
    scorer = scorer or configured_scorer()
    deadline = time.monotonic() + budget_seconds
    due = due_lead_ids(limit + 1)
    scored = settled = changed = fallbacks = failed = 0
    points: dict[str, float] = {}
    out_of_time = False
    for start in range(0, min(len(due), limit), _BATCH):
        rows = list(Lead.batch_get(due[start : min(start + _BATCH, limit)], consistent_read=True))
        points.update(_source_points({row.source_id for row in rows if row.source_id} - points.keys()))
        for row in rows:
            if time.monotonic() > deadline:
                out_of_time = True
                break
            if row.rescore_due is None:
                continue  # scored by someone else since the index was read
            if stage_of(row) in FINAL_LEAD_STAGES:
                settled += _settle(row)
                continue
            try:
                score, elapsed_ms = _timed_score(
                    scorer, features_of(row, points.get(row.source_id or "", 0.0), utc_now())
                )
                written = _write_score(row, score, ScoreTrigger.SCHEDULE)
            except Exception as exc:
                # One broken lead must not stop every other lead's scores. The
                # type only: a validation error's text quotes the values.
                logger.error("rescoring a lead failed", extra={"lead_id": row.lead_id, "error": type(exc).__name__})
                failed += 1
                continue
            if written:
                _log_scored(row.lead_id, score, ScoreTrigger.SCHEDULE, elapsed_ms)
                scored += 1
                fallbacks += score.fallback_reason is not None
            else:
                changed += 1
        if out_of_time:
            break
    return RescoreReport(
        scored=scored,
        settled_final=settled,
        changed_meanwhile=changed,
        fallbacks=fallbacks,
        failed=failed,
        more_due=out_of_time or len(due) > limit,
        scorer=scorer.name,
    )


def _settle(row: Lead) -> bool:
    return update_if(row, scoring_settled(), Lead.inputs_version == int(row.inputs_version or 0), "lead")


# --- the training job ------------------------------------------------------


def _outcome_rows(stage: LeadStage) -> Iterator[Lead]:
    """Every lead that reached `stage`, read in batches of what the features need."""
    batch: list[str] = []
    for lead_id in lead_ids_in_stage(stage):
        batch.append(lead_id)
        if len(batch) == _BATCH:
            yield from Lead.batch_get(batch, attributes_to_get=_TRAINING_ATTRIBUTES)
            batch = []
    if batch:
        yield from Lead.batch_get(batch, attributes_to_get=_TRAINING_ATTRIBUTES)


# Only what the features need: no contact details, no history.
_TRAINING_ATTRIBUTES = [
    "lead_id",
    "source_id",
    "stage",
    "message_count",
    "appeals_count",
    "business_domain",
    "created_at",
    "stage_changed_at",
    "updated_at",
]


def train_from_outcomes(min_per_class: int = MIN_OUTCOMES_PER_CLASS) -> TrainingReport:
    """Trains on transferred (1) and lost (0) leads and stores the model as a
    new version, then makes it current; below `min_per_class` outcomes of
    either class nothing is trained and the rules keep answering."""
    from chalicelib.scoring.metrics import brier_score, roc_auc
    from chalicelib.scoring.trainer import stratified_split, train

    started = time.monotonic()
    rows: list[dict[str, Value]] = []
    labels: list[int] = []
    for stage, label in ((LeadStage.TRANSFERRED, 1), (LeadStage.LOST, 0)):
        for lead in _outcome_rows(stage):
            rows.append(outcome_features(lead).model_row())
            labels.append(label)
    positives, negatives = sum(labels), len(labels) - sum(labels)

    def report(**fields: object) -> TrainingReport:
        return TrainingReport.model_validate(
            {"positives": positives, "negatives": negatives, "seconds": round(time.monotonic() - started, 3), **fields}
        )

    if positives < min_per_class or negatives < min_per_class:
        return report(
            trained=False,
            reason=f"needs {min_per_class} outcomes of each class; has {positives} transferred and {negatives} lost",
            version=None,
            holdout_auc=None,
            holdout_brier=None,
        )
    fit_idx, holdout_idx = stratified_split(labels, test_fraction=0.3, seed=0)
    trial = train([rows[i] for i in fit_idx], [labels[i] for i in fit_idx])
    holdout_labels = [labels[i] for i in holdout_idx]
    predicted = trial.predict_many([rows[i] for i in holdout_idx])
    auc, brier = roc_auc(holdout_labels, predicted), brier_score(holdout_labels, predicted)
    # The stored model learns from every outcome; the holdout only judges the recipe.
    model = train(rows, labels)
    return report(
        trained=True,
        reason=f"trained on {positives} transferred and {negatives} lost leads",
        version=_store(model.model_dump_json(), positives, negatives, auc, brier),
        holdout_auc=round(auc, 4),
        holdout_brier=round(brier, 4),
    )


def _model_row(key: str, fields: dict[str, Any]) -> ScoringModel:
    return ScoringModel(key, **fields)


def _store(body: str, positives: int, negatives: int, auc: float, brier: float) -> int:
    """Puts `model#<next>` and the current copy in one transaction; a
    concurrent training run makes one of the two fail and retry."""
    for _ in tries():
        current = current_scoring_model(consistent=True)
        previous = int(current.version) if current is not None else 0
        version = previous + 1
        fields: dict[str, Any] = {
            "version": version,
            "body": body,
            "trained_at": iso(utc_now()),
            "positives": positives,
            "negatives": negatives,
            "holdout_auc": auc,
            "holdout_brier": brier,
        }
        tx = Transaction()
        tx.put("version", _model_row(model_key(version), fields), condition=ScoringModel.key.does_not_exist())
        tx.put(
            "current",
            _model_row(CURRENT_MODEL_KEY, fields),
            condition=ScoringModel.key.does_not_exist() if previous == 0 else ScoringModel.version == previous,
        )
        try:
            commit_with_retry(tx)
        except Cancelled as failure:
            if failure.failed("version") or failure.failed("current"):
                continue
            raise
        logger.info("scoring model stored", extra={"version": version, "positives": positives})
        return version
    raise RuntimeError("could not store the scoring model: versions kept moving")


# --- what the console's scoring view shows ------------------------------------


def scoring_status() -> ScoringStatus:
    """The configured scorer, who answers now and the current model (one GetItem)."""
    from chalicelib.scoring.model import model_version
    from chalicelib.scoring.rules import VERSION as RULES_VERSION

    settings = current_settings()
    current = current_scoring_model()
    model = None
    learnt = RULES_VERSION
    if current is not None:
        learnt = model_version(int(current.version))
        model = ModelSummary(
            version=int(current.version),
            model_version=learnt,
            trained_at=datetime.fromisoformat(current.trained_at),
            positives=int(current.positives),
            negatives=int(current.negatives),
            holdout_auc=None if current.holdout_auc is None else float(current.holdout_auc),
            holdout_brier=None if current.holdout_brier is None else float(current.holdout_brier),
        )
    answering = {"model": learnt, "llm": f"llm:{settings.bedrock_model_id}" if settings.bedrock_model_id else learnt}
    return ScoringStatus(scorer=settings.scorer, answering=answering.get(settings.scorer, RULES_VERSION), model=model)
