"""Reports of the scheduled jobs (also returned by the admin route that runs them now)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.schemas.common import Output

JobName = Literal["reassign", "audit", "rescore", "train", "tune", "shifts", "followup"]


class ReassignReport(Output):
    sources_checked: int = Field(description="Sources whose waiting line or SLA index was read")
    lapsed: int = Field(description="Active appeals found past their response SLA")
    reassigned: int = Field(description="Lapsed appeals handed to another operator")
    returned_to_line: int = Field(description="Lapsed appeals sent back to the waiting line (nobody eligible)")
    escalated: int = Field(description="Appeals that lapsed once too often and now wait for a human")
    drained: int = Field(description="Waiting appeals handed out")
    still_waiting: int = Field(
        description="Appeals still waiting after the run, from the sources' counters (escalated ones included)"
    )


class FollowupReport(Output):
    due: int = Field(description="Accepted appeals whose follow-up was due (read from the sparse follow-up index)")
    reminded: int = Field(description="Operators reminded (appeal.followup_reminder) after one quiet period")
    escalated: int = Field(description="Appeals escalated after a second quiet period")
    reassigned: int = Field(description="Appeals returned to distribution and handed to another operator")
    returned_to_line: int = Field(description="Appeals returned to distribution with nobody free: now waiting")
    skipped: int = Field(description="Due appeals that changed while the job looked (activity came first)")


class CounterDrift(Output):
    operator_id: str
    recorded: int = Field(description="active_load on the operator row before the audit")
    actual: int = Field(description="Active appeals of this operator in the appeals table")
    repaired: bool


class AuditReport(Output):
    operators_checked: int
    drift_total: int = Field(description="Sum of |recorded - actual| over all operators; 0 when counters are exact")
    drifts: list[CounterDrift]


class RescoreReport(Output):
    scored: int = Field(description="Leads scored because their inputs changed")
    settled_final: int = Field(description="Transferred or lost leads taken off the list without a score")
    changed_meanwhile: int = Field(description="Leads whose inputs changed while scored; left for the next run")
    fallbacks: int = Field(description="Scores answered by a fallback because the configured scorer failed")
    failed: int = Field(description="Leads that could not be scored (logged by id); they stay due")
    more_due: bool = Field(description="The run stopped at its limit with leads still due")
    scorer: str = Field(description="The scorer configured for this run")


class TrainingReport(Output):
    trained: bool
    reason: str = Field(description="Why a model was or was not trained")
    version: int | None = Field(description="Version of the stored model (model-v<N>)")
    positives: int = Field(description="Outcomes labelled 1: transferred leads (deal paid or not)")
    negatives: int = Field(description="Outcomes labelled 0: lost leads")
    holdout_auc: float | None = Field(description="ROC AUC on a 30% stratified holdout")
    holdout_brier: float | None = Field(description="Brier score on the holdout (lower is better)")
    seconds: float = Field(description="Wall time of reading outcomes and training")


class TuneReport(Output):
    sources_refreshed: int = Field(
        description="auto_tune or score_aware sources whose conversion estimates were renewed"
    )
    sources_tuned: int = Field(description="auto_tune sources whose weights moved")
    weights_changed: int = Field(description="Weights moved (each at most ±20 %, never below the minimum)")


class ShiftReport(Output):
    due: int = Field(description="Operators whose next shift transition had come (read from the sparse index)")
    went_on: int = Field(description="Operators whose shift started (off_shift -> available)")
    went_off: int = Field(description="Operators whose shift ended (available -> off_shift)")
    rescheduled: int = Field(description="Due but unchanged (paused meanwhile, or a horizon re-check)")
    skipped: int = Field(description="Settled first by another writer (a schedule write, a pause, another run)")
    returned: int = Field(description="Unaccepted appeals put back through distribution at shift ends")
    drained: int = Field(description="Waiting appeals handed out at shift starts")
