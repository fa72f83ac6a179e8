"""Follow-up after accept: remind after one quiet period, act after a second one
counted from the reminder, activity resets it, and the due time is exact."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.routing.followup import FollowupAction, FollowupPolicy, Step, decide_followup

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
POLICY = FollowupPolicy(followup_seconds=3600, action=FollowupAction.RETURN_TO_LINE)


def test_GIVEN_no_followup_on_the_source_WHEN_asked_THEN_nothing_is_ever_due() -> None:
    decision = decide_followup(FollowupPolicy(), last_activity_at=T0, reminded_at=None, now=T0 + 100 * HOUR)
    assert (decision.step, decision.due_at) == (Step.NONE, None)


@pytest.mark.parametrize(
    ("reminded_at", "now", "step", "due_at"),
    [
        (None, T0 + HOUR - timedelta(microseconds=1), Step.NONE, T0 + HOUR),
        (None, T0 + HOUR, Step.REMIND, T0 + 2 * HOUR),
        (None, T0 + 5 * HOUR, Step.REMIND, T0 + 6 * HOUR),  # the job was down: remind first, never act unwarned
        (T0 + HOUR, T0 + 2 * HOUR - timedelta(seconds=1), Step.NONE, T0 + 2 * HOUR),
        (T0 + HOUR, T0 + 2 * HOUR, Step.ACT, None),
        (T0 + HOUR + timedelta(seconds=50), T0 + 2 * HOUR, Step.NONE, T0 + 2 * HOUR + timedelta(seconds=50)),
        (T0 - HOUR, T0 + HOUR, Step.REMIND, T0 + 2 * HOUR),  # a reminder from before the last activity is stale
    ],
)
def test_GIVEN_a_quiet_accepted_appeal_WHEN_the_job_looks_THEN_remind_then_act(
    reminded_at: datetime | None, now: datetime, step: Step, due_at: datetime | None
) -> None:
    decision = decide_followup(POLICY, last_activity_at=T0, reminded_at=reminded_at, now=now)
    assert (decision.step, decision.due_at, decision.period) == (step, due_at, T0)
    assert decision.action == (FollowupAction.RETURN_TO_LINE if step is Step.ACT else None)


def test_GIVEN_an_act_WHEN_explained_THEN_the_reason_says_how_long_without_personal_data() -> None:
    decision = decide_followup(
        POLICY, last_activity_at=T0, reminded_at=T0 + HOUR, now=T0 + 2 * HOUR + timedelta(minutes=1)
    )
    assert decision.reason == "no activity for 2 h 01 min, 1 h 01 min after the reminder"


def test_GIVEN_bad_policy_WHEN_validated_THEN_422_names_the_field() -> None:
    with pytest.raises(ValidationError) as raised:
        FollowupPolicy.model_validate({"followup_seconds": 30, "action": "nag"})
    assert sorted(e["loc"] for e in raised.value.errors()) == [("action",), ("followup_seconds",)]


def test_GIVEN_naive_times_WHEN_asked_THEN_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide_followup(POLICY, last_activity_at=datetime(2026, 6, 1), reminded_at=None, now=T0)


@settings(max_examples=150, deadline=None)
@given(
    period_minutes=st.integers(1, 180),
    activity_gaps=st.lists(st.floats(0.05, 3.0), max_size=6),
    job_every=st.integers(1, 5),
    kind=st.sampled_from(list(FollowupAction)),
)
def test_GIVEN_activity_and_job_runs_WHEN_the_rule_applies_THEN_one_reminder_per_quiet_period_and_act_after_two(
    period_minutes: int, activity_gaps: list[float], job_every: int, kind: FollowupAction
) -> None:
    """A timeline: the appeal is accepted at T0, activity happens now and then (gaps
    in periods), and the job runs every few minutes but only for appeals whose due
    time has come (the sparse index); its records are what the caller would write."""
    policy = FollowupPolicy(followup_seconds=period_minutes * 60, action=kind)
    period = timedelta(minutes=period_minutes)
    activities = [T0]
    for gap in activity_gaps:
        activities.append(activities[-1] + gap * period)
    end = activities[-1] + 3 * period
    last, reminded = T0, None
    due: datetime | None = T0 + period
    reminders: list[tuple[datetime, datetime]] = []  # (period, when)
    acted: datetime | None = None
    pending = activities[1:]
    every = timedelta(minutes=job_every)
    now = T0
    while now < end:
        # Runs are at T0 + k·every; skip to the first one at or after the next due time or activity.
        upcoming = min([d for d in (due, pending[0] if pending else None) if d is not None], default=end)
        now = max(now + every, T0 + math.ceil((upcoming - T0) / every) * every)
        while pending and pending[0] <= now:
            last = pending.pop(0)
            due = last + period  # the caller re-indexes on activity
        if due is None or now < due:
            continue
        decision = decide_followup(policy, last_activity_at=last, reminded_at=reminded, now=now)
        assert decision.step is not Step.NONE  # the due time is exactly when something happens
        if decision.step is Step.REMIND:
            assert now >= last + period
            assert all(p != last for p, _ in reminders)  # once per quiet period
            reminders.append((last, now))
            reminded = now
        else:
            assert decision.action is kind
            assert reminded is not None and reminded >= last and now >= reminded + period >= last + 2 * period
            acted = now
            break
        due = decision.due_at
    event(f"acted: {acted is not None}, reminders: {min(len(reminders), 2)}")
    if acted is not None:
        # It acted on the first run at or after the second period, not later.
        assert acted - every < reminders[-1][1] + period


def test_GIVEN_the_source_schema_WHEN_compared_with_the_policy_THEN_bounds_and_actions_are_the_same() -> None:
    from typing import get_args

    from chalicelib.routing import followup
    from chalicelib.schemas.sources import FOLLOWUP_SECONDS_RANGE, FollowupActionName

    # The API's 422s and the job's policy must agree: schemas sit below routing, so each names them once.
    assert FOLLOWUP_SECONDS_RANGE == (followup.MIN_FOLLOWUP_SECONDS, followup.MAX_FOLLOWUP_SECONDS)
    assert set(get_args(FollowupActionName)) == {action.value for action in FollowupAction}
