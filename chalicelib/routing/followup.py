"""Follow-up after accept, as data: when an accepted appeal has been quiet too
long, first remind its operator, then act (escalate it or return it to the
line, as its source chooses), and when to look at it next.

The rule, with F = the source's ``followup_seconds`` and L = the appeal's last
activity (accept, a close attempt, a stage move, a note: whatever resets it):

* before L + F: nothing; next due L + F;
* from L + F: ``remind`` (the caller records ``reminded_at = now``); next due
  ``now + F``, so the operator always gets a full period after the reminder
  actually went out, even if the job ran late;
* from ``reminded_at + F``: ``act`` with the source's action; nothing is due
  after that (the appeal leaves the accepted state).

A reminder older than the last activity belongs to an earlier quiet period and
is ignored: activity resets the clock. ``period`` (= L) names the quiet period,
so a redelivered reminder event can carry a stable id (appeal id + period).
The caller keeps ``due_at`` in a sparse index (absent when None), so the job
that runs this costs O(appeals due), never O(accepted appeals).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FollowupAction", "FollowupDecision", "FollowupPolicy", "Step", "decide_followup"]

MIN_FOLLOWUP_SECONDS = 60  # the job runs once a minute: shorter cannot be honoured
MAX_FOLLOWUP_SECONDS = 30 * 24 * 3600


class FollowupAction(StrEnum):
    ESCALATE = "escalate"
    RETURN_TO_LINE = "return_to_line"


class FollowupPolicy(BaseModel):
    """A source's follow-up settings."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    followup_seconds: int | None = Field(
        default=None,
        ge=MIN_FOLLOWUP_SECONDS,
        le=MAX_FOLLOWUP_SECONDS,
        description="Quiet seconds after accept (or the last activity) before a reminder, and again before acting; "
        "null: no follow-up",
    )
    action: FollowupAction = Field(
        default=FollowupAction.ESCALATE, description="What happens after the second quiet period"
    )


class Step(StrEnum):
    NONE = "none"
    REMIND = "remind"
    ACT = "act"


@dataclass(frozen=True)
class FollowupDecision:
    step: Step
    action: FollowupAction | None  # set when step is ACT
    due_at: datetime | None  # when to look again (after recording a REMIND as reminded_at = now)
    period: datetime  # the last activity: names the quiet period
    reason: str  # for logs and the appeal's history (no personal data)


def decide_followup(
    policy: FollowupPolicy,
    *,
    last_activity_at: datetime,
    reminded_at: datetime | None,
    now: datetime,
) -> FollowupDecision:
    """What to do for one accepted appeal at `now` (all times timezone-aware)."""
    for moment in (last_activity_at, reminded_at, now):
        if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
            raise ValueError("timezone-aware times are required")
    if policy.followup_seconds is None:
        return FollowupDecision(Step.NONE, None, None, last_activity_at, "no follow-up on this source")
    period = timedelta(seconds=policy.followup_seconds)
    if reminded_at is None or reminded_at < last_activity_at:
        remind_at = last_activity_at + period
        if now < remind_at:
            return FollowupDecision(Step.NONE, None, remind_at, last_activity_at, "quiet for less than the period")
        return FollowupDecision(
            Step.REMIND,
            None,
            now + period,
            last_activity_at,
            f"no activity for {_duration(now - last_activity_at)}",
        )
    act_at = reminded_at + period
    if now < act_at:
        return FollowupDecision(Step.NONE, None, act_at, last_activity_at, "reminded; waiting out the second period")
    return FollowupDecision(
        Step.ACT,
        policy.action,
        None,
        last_activity_at,
        f"no activity for {_duration(now - last_activity_at)}, {_duration(now - reminded_at)} after the reminder",
    )


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
