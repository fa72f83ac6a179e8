from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from chalicelib.models.leads import DealEventType, DealStage, LeadEventType, LeadStage, Recommendation, ScoreTrigger
from chalicelib.schemas.common import Input, Name, Output, PageQuery, Patch
from chalicelib.schemas.contact import Email, Phone

BusinessDomain = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"\S")]


class LeadsQuery(PageQuery):
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    stage: LeadStage | None = Field(None, description="Only leads in this stage, latest stage change first")


class LeadPatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"name", "phone", "email", "business_domain"})

    name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    business_domain: BusinessDomain | None = Field(
        None, description="What the lead's business does; needed to transfer"
    )


class NoteCreate(Input):
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=r"\S")]


class NoteOut(Output):
    id: int = Field(description="The note's number on its lead (1 is the first)")
    lead_id: str
    text: str
    author: str = Field(description="The operator id that wrote it, or the admin's subject")
    author_role: str
    created_at: datetime
    appeal_id: str | None = Field(None, description="The appeal it was written on (POST /appeals/{id}/notes), if any")


class StageChange(Input):
    stage: LeadStage


class DealStageChange(Input):
    stage: DealStage


class FactorOut(Output):
    feature: str
    contribution: float = Field(description="Signed: positive raised the score (rules: points; model/llm: log-odds)")


class SourceContacts(Output):
    source_id: str
    name: str | None
    phone: str | None
    email: str | None
    username: str | None = Field(None, description="The lead's handle on this channel (Telegram username)")
    language_code: str | None = None
    differs: list[str] = Field(
        description="Fields this source collected differently from the lead's own (admins see every source)"
    )


class LeadOut(Output):
    id: str
    external_id: str
    name: str | None
    phone: str | None
    email: str | None
    username: str | None = Field(None, description="Channel handle (Telegram username), as the latest message said")
    language_code: str | None = Field(None, description="The lead's language, as its channel reports it")
    business_domain: str | None
    source_id: str | None = Field(description="Source of the lead's first appeal")
    stage: LeadStage
    stage_changed_at: datetime | None
    appeals_count: int
    message_count: int
    ai_score: float | None
    ai_recommendation: Recommendation | None
    ai_reason: str | None
    ai_factors: list[FactorOut]
    scored_at: datetime | None
    model_version: str | None = Field(description="Which scorer made ai_score: rules-v1, model-v<N> or llm:<model id>")
    score_fallback_reason: str | None = Field(description="Set when the configured scorer failed and another answered")
    score_stale: bool = Field(description="Scoring inputs changed after the latest score; the rescoring job is due")
    deal_id: str | None
    contacts: list[SourceContacts] = Field(
        description="What each source collected (in GET /leads/{id} and PATCH answers; empty in listings). "
        "An admin sees every source's record and the lead's own fields; an operator sees only the records "
        "of the sources its own appeals came from, and the name, phone and e-mail above come from those"
    )
    created_at: datetime
    updated_at: datetime


class LeadEvent(Output):
    type: LeadEventType
    at: datetime
    # stage_changed
    from_stage: str | None = None
    to_stage: str | None = None
    # scored
    score: float | None = None
    recommendation: Recommendation | None = None
    model_version: str | None = None
    fallback_reason: str | None = None
    trigger: ScoreTrigger | None = None
    # transferred
    deal_id: str | None = None


class LeadHistory(Output):
    lead_id: str
    events: list[LeadEvent] = Field(description="Oldest first")


class DealEvent(Output):
    type: DealEventType
    at: datetime
    from_stage: str | None = None
    to_stage: str | None = None


class DealOut(Output):
    id: str
    lead_id: str
    stage: DealStage
    business_domain: str | None
    ai_score_at_transfer: float | None
    history: list[DealEvent] = Field(description="Oldest first")
    created_at: datetime
    updated_at: datetime


class Transfer(Output):
    lead: LeadOut
    deal: DealOut
