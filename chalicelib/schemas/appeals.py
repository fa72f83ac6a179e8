from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.models.appeals import AppealStatus, EventType, Reason, Trigger
from chalicelib.models.sources import Strategy
from chalicelib.schemas.common import EntityId, Input, Name, Output, PageQuery
from chalicelib.schemas.contact import Email, ExternalId, Phone
from chalicelib.schemas.routing_rules import Tags

MESSAGE_MAX_LENGTH = 10_000
# `\S`: at least one visible character; the JSON Schema says so too.
MessageText = Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_MAX_LENGTH, pattern=r"\S")]
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# A channel handle (Telegram: 5-32 of A-Z, a-z, 0-9, _; a little slack for other channels).
Username = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.]+$")]
# An IETF language tag as channels send it (`en`, `pt-br`).
LanguageCode = Annotated[
    str, StringConstraints(min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
]
# Where the source's bot reaches the lead (a Telegram chat id).
ChatId = Annotated[str, StringConstraints(min_length=1, max_length=21, pattern=r"^-?[0-9]{1,20}$")]
# What a media message carried; its text is then a placeholder such as "[photo]".
MediaKind = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


class AppealCreate(Input):
    lead_external_id: ExternalId
    source_id: EntityId
    message: MessageText
    lead_name: Name | None = None
    lead_phone: Phone | None = None
    lead_email: Email | None = None
    message_id: MessageId | None = None
    lead_username: Username | None = None
    lead_language_code: LanguageCode | None = None
    lead_chat_id: ChatId | None = None
    media: MediaKind | None = None
    required_tags: Tags = Field(
        (),
        description="Skills this appeal needs on top of its source's (e.g. the language a bot detected, lang:uk): "
        "only operators with every one are drawn",
    )
    vip: bool = Field(False, description="A VIP lead: first in a priority line (line_order.mode = priority)")


class OperatorRef(Output):
    id: str
    name: str


class AppealOut(Output):
    id: str
    lead_id: str
    lead_external_id: str
    source_id: str
    operator: OperatorRef | None
    status: AppealStatus
    message: str
    message_id: str | None
    created_at: datetime
    assigned_at: datetime | None
    accepted_at: datetime | None
    closed_at: datetime | None
    accept_by: datetime | None = Field(description="When the response SLA lapses unless the operator accepts")
    reassign_count: int = Field(description="Times the appeal was taken back from an operator")
    escalated: bool = Field(description="Lapsed too often: waits for a person, skipped by automatic drains")
    message_count: int = Field(description="Messages on this appeal (sticky sources attach follow-ups)")
    last_message_at: datetime
    required_tags: list[str] = Field(default_factory=list, description="The skills this appeal itself requires")
    vip: bool = Field(False, description="Flagged VIP at intake")


class OperatorChoice(Input):
    """Body of accept (the operator acknowledging) and assign (the operator a person chose)."""

    operator_id: EntityId


class WaitingQuery(PageQuery):
    escalated: bool = Field(False, description="true: the appeals waiting for a person instead of the queue")


class CandidateRecord(Output):
    operator_id: str
    weight: int
    active_load: int
    max_load: int
    is_active: bool
    eligible: bool = Field(description="Active, serving the source, below max_load and not excluded")
    draw_weight: int = Field(description="Its share of the draw (weight, or weight x free capacity)")
    # Defaults: events are stored without nulls (and older records have neither).
    presence: Literal["available", "paused", "off_shift"] = Field(
        "available", description="Its presence when the draw was made"
    )
    not_drawn_because: str | None = Field(
        None, description='Why its presence or hours kept it out: "Anna: off shift until 09:00 Europe/Kyiv"'
    )


class ScoreMultiplier(Output):
    operator_id: str
    weight: int = Field(description="The configured weight, before the multiplication")
    conversion: float = Field(description="The conversion estimate it was multiplied by")


class ScoreAwareRecord(Output):
    """A hot lead's draw on a score-aware source: candidates' weights are weight × conversion (× 1000)."""

    score: float
    threshold: float
    multipliers: list[ScoreMultiplier]


class SkillsRecord(Output):
    """Who the appeal's required skills left out of the draw."""

    required_tags: list[str] = Field(
        description="What was required (the source's and the appeal's); empty after a fallback"
    )
    fallback: bool = Field(description="The requirement was dropped: the appeal waited fallback_after_seconds")
    fallback_after_seconds: int | None = Field(None, description="The source's fallback, when it applied")
    lacking: dict[str, list[str]] = Field(
        description="operator id → the required tags it lacks (skipped); an operator sees only its own entry"
    )


class DecisionRecord(Output):
    trigger: Trigger
    strategy: Strategy
    sticky: bool = Field(description="Went to the lead's last operator without a draw")
    candidates: list[CandidateRecord]
    excluded: list[str] = Field(description="Operators never offered this appeal (they let it lapse, or it was theirs)")
    lost_races: list[str] = Field(description="Drawn, but filled up before the claim committed; drawn again")
    # Defaults: events are stored without nulls.
    draw: float | None = Field(None, description="Where the draw landed in [0, draw_total); null when none was made")
    draw_total: int
    winner: str | None = Field(None, description="Null: nobody eligible was free")
    score_aware: ScoreAwareRecord | None = Field(
        None, description="Present when the lead's score made the draw weigh conversion (score-aware sources)"
    )
    skills: SkillsRecord | None = Field(
        None, description="Present when tags were required: who was skipped for lacking them, or the fallback"
    )


class AppealEvent(Output):
    type: EventType
    at: datetime
    operator_id: str | None = None
    previous_operator_id: str | None = None
    reason: Reason | None = None
    decision: DecisionRecord | None = None


class AppealHistory(Output):
    appeal_id: str
    status: AppealStatus
    events: list[AppealEvent]
