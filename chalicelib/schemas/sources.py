from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, RootModel, StringConstraints

from chalicelib.models.sources import Strategy
from chalicelib.schemas.common import (
    MAX_PAGE_SIZE,
    Description,
    EntityId,
    Input,
    Name,
    Output,
    Patch,
    Query,
    StoredFloat,
)
from chalicelib.schemas.routing_rules import MAX_FALLBACK_SECONDS, LineOrder, Tags

# From 10 seconds to a week: shorter cannot be checked by a once-a-minute run anyway.
ResponseSla = Annotated[int, Field(ge=10, le=7 * 24 * 3600)]
SLA_DESCRIPTION = (
    "Seconds an operator has to accept (POST /appeals/{id}/accept) before the appeal is reassigned; null: no SLA"
)
LeadPoints = Annotated[StoredFloat, Field(ge=-0.3, le=0.3)]
LEAD_POINTS_DESCRIPTION = "Points (-0.3..0.3) the rules scorer adds to this source's leads: how warm the channel is"
STICKY_DESCRIPTION = (
    "Returning leads go first to the operator last assigned one of their appeals, "
    "and a new message on an open appeal of this source attaches to it"
)

AUTO_TUNE_DESCRIPTION = (
    "A daily job moves the weights toward GET /sources/{id}/suggestions, at most ±20 % a day, "
    "never below the minimum weight; every change is in GET /sources/{id}/weights/history"
)
SCORE_AWARE_DESCRIPTION = (
    "Leads scored at or above score_threshold are drawn with each weight multiplied by the operator's "
    "conversion estimate (refreshed by the suggestions and auto-tune jobs)"
)
# The bounds and actions of routing/followup.py's FollowupPolicy (schemas sit below routing;
# tests/unit/test_followup.py holds the two to the same values).
FOLLOWUP_SECONDS_RANGE = (60, 30 * 24 * 3600)
FollowupSeconds = Annotated[int, Field(ge=FOLLOWUP_SECONDS_RANGE[0], le=FOLLOWUP_SECONDS_RANGE[1])]
FollowupActionName = Literal["escalate", "return_to_line"]
FOLLOWUP_DESCRIPTION = (
    "Follow-up after accept: an accepted appeal with no activity (a note, a reply to the lead, a stage move "
    "of its lead) for this many seconds gets a reminder to its operator, and after as long again "
    "followup_action happens; 60..2592000 (30 days); null: no follow-up"
)
FOLLOWUP_ACTION_DESCRIPTION = (
    "After the second quiet period: escalate (to a person, in the line's escalated segment) or "
    "return_to_line (to another operator, or the line when nobody is free)"
)
ScoreThreshold = Annotated[StoredFloat, Field(ge=0.0, le=1.0)]
DEFAULT_SCORE_THRESHOLD = 0.7

REQUIRED_TAGS_DESCRIPTION = (
    "Skills every appeal of this source requires (name:value, e.g. lang:uk): only operators with all of them "
    "(and of the appeal's own required_tags) are drawn"
)
FallbackSeconds = Annotated[int, Field(ge=1, le=MAX_FALLBACK_SECONDS)]
FALLBACK_DESCRIPTION = (
    "After an appeal has waited this many seconds (since it arrived) with nobody skilled free, "
    "its required tags are dropped and anyone may take it; null: it waits for a skilled operator"
)
LINE_ORDER_DESCRIPTION = (
    "fifo (arrival order) or priority: VIP, hot (AI score >= hot_threshold) and returning leads go first, "
    "each placed at most max_jump_seconds ahead of its arrival, so nothing is overtaken by an appeal that "
    "arrived more than max_jump_seconds after it"
)

# A namespace is a channel prefix ending in ':' (`tg:`, `wa:`, `web:`).
ExternalIdPrefix = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9._@+\-]+:$")]
ExternalIdPrefixes = Annotated[list[ExternalIdPrefix], Field(max_length=10)]
PREFIXES_DESCRIPTION = (
    'The external id namespaces this source may speak for (e.g. ["tg:"] for a Telegram bot); '
    "an appeal for any other lead_external_id is refused with 422. Empty or absent: any"
)


RETURN_ACCEPTED_DESCRIPTION = (
    "At an operator's shift end, its accepted appeals from this source go back through distribution too "
    "(default false: accepted ones stay with it)"
)


class SourceCreate(Input):
    name: Name
    description: Description | None = None
    # strict mode takes enum members only from Python; JSON strings are fine.
    strategy: Strategy = Strategy.WEIGHTED
    response_sla_seconds: ResponseSla | None = Field(default=None, description=SLA_DESCRIPTION)
    sticky: bool = Field(default=False, description=STICKY_DESCRIPTION)
    lead_points: LeadPoints = Field(default=0.0, description=LEAD_POINTS_DESCRIPTION)
    external_id_prefixes: ExternalIdPrefixes = Field(default_factory=list, description=PREFIXES_DESCRIPTION)
    auto_tune: bool = Field(default=False, description=AUTO_TUNE_DESCRIPTION)
    score_aware: bool = Field(default=False, description=SCORE_AWARE_DESCRIPTION)
    score_threshold: ScoreThreshold = DEFAULT_SCORE_THRESHOLD
    return_accepted_at_shift_end: bool = Field(default=False, description=RETURN_ACCEPTED_DESCRIPTION)
    required_tags: Tags = Field((), description=REQUIRED_TAGS_DESCRIPTION)
    fallback_after_seconds: FallbackSeconds | None = Field(default=None, description=FALLBACK_DESCRIPTION)
    line_order: LineOrder = Field(default_factory=LineOrder, description=LINE_ORDER_DESCRIPTION)
    followup_seconds: FollowupSeconds | None = Field(default=None, description=FOLLOWUP_DESCRIPTION)
    followup_action: FollowupActionName = Field(default="escalate", description=FOLLOWUP_ACTION_DESCRIPTION)


# What Telegram accepts as a webhook secret_token; we ask for at least 16 characters.
TelegramSecret = Annotated[str, StringConstraints(min_length=16, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")]


class SourcePatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset(
        {"description", "telegram_secret_token", "response_sla_seconds", "fallback_after_seconds", "followup_seconds"}
    )

    name: Name | None = None
    description: Description | None = None
    strategy: Strategy | None = None
    response_sla_seconds: ResponseSla | None = Field(default=None, description=SLA_DESCRIPTION)
    sticky: bool | None = Field(default=None, description=STICKY_DESCRIPTION)
    lead_points: LeadPoints | None = Field(default=None, description=LEAD_POINTS_DESCRIPTION)
    external_id_prefixes: ExternalIdPrefixes | None = Field(default=None, description=PREFIXES_DESCRIPTION)
    auto_tune: bool | None = Field(default=None, description=AUTO_TUNE_DESCRIPTION)
    score_aware: bool | None = Field(default=None, description=SCORE_AWARE_DESCRIPTION)
    score_threshold: ScoreThreshold | None = None
    return_accepted_at_shift_end: bool | None = Field(default=None, description=RETURN_ACCEPTED_DESCRIPTION)
    required_tags: Tags | None = Field(default=None, description=REQUIRED_TAGS_DESCRIPTION + " ([]: none)")
    fallback_after_seconds: FallbackSeconds | None = Field(default=None, description=FALLBACK_DESCRIPTION)
    line_order: LineOrder | None = Field(
        default=None, description=LINE_ORDER_DESCRIPTION + ". Replaced whole; already waiting appeals keep their place"
    )
    followup_seconds: FollowupSeconds | None = Field(default=None, description=FOLLOWUP_DESCRIPTION)
    followup_action: FollowupActionName | None = Field(default=None, description=FOLLOWUP_ACTION_DESCRIPTION)
    telegram_secret_token: TelegramSecret | None = Field(
        default=None,
        description="Write-only. Telegram sends it in X-Telegram-Bot-Api-Secret-Token; null disables the webhook.",
    )


class SourceOut(Output):
    id: str
    name: str
    description: str | None
    strategy: Strategy
    response_sla_seconds: int | None
    sticky: bool
    lead_points: float
    external_id_prefixes: list[str] = Field(description=PREFIXES_DESCRIPTION)
    telegram_webhook_enabled: bool = Field(description="True once a telegram_secret_token is set")
    auto_tune: bool = Field(description=AUTO_TUNE_DESCRIPTION)
    score_aware: bool = Field(description=SCORE_AWARE_DESCRIPTION)
    score_threshold: float
    return_accepted_at_shift_end: bool = Field(default=False, description=RETURN_ACCEPTED_DESCRIPTION)
    followup_seconds: int | None = Field(None, description=FOLLOWUP_DESCRIPTION)
    followup_action: FollowupActionName = Field("escalate", description=FOLLOWUP_ACTION_DESCRIPTION)
    telegram_bot_username: str | None = Field(
        None, description="The source's own bot, once connected (POST /sources/{id}/telegram/connect)"
    )
    created_at: datetime
    updated_at: datetime
    required_tags: list[str] = Field(default_factory=list, description=REQUIRED_TAGS_DESCRIPTION)
    fallback_after_seconds: int | None = Field(default=None, description=FALLBACK_DESCRIPTION)
    line_order: LineOrder = Field(default_factory=LineOrder, description=LINE_ORDER_DESCRIPTION)


MAX_WEIGHTS_PER_SOURCE = 100


class WeightIn(Input):
    operator_id: EntityId
    weight: Annotated[int, Field(ge=1, le=100)]


class WeightSet(RootModel[list[WeightIn]]):
    root: Annotated[list[WeightIn], Field(max_length=MAX_WEIGHTS_PER_SOURCE)]


class WeightOut(Output):
    operator_id: str
    operator_name: str
    weight: int
    share: float = Field(description="weight / sum of the source's weights")


class WeightsOut(Output):
    source_id: str
    items: list[WeightOut]


class HistoryQuery(Query):
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class WeightChangeOut(Output):
    at: datetime
    reason: str = Field(description="manual, suggestion, or auto_tune with each move and its evidence")
    changes: dict[str, list[int]] = Field(description="operator id → [old weight, new weight]")


class WeightHistoryOut(Output):
    source_id: str
    items: list[WeightChangeOut] = Field(description="Newest first")
