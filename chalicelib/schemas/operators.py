from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from chalicelib.models.appeals import AppealStatus
from chalicelib.schemas.common import Input, Name, Output, PageQuery, Patch, Query, without_format_characters
from chalicelib.schemas.contact import Email
from chalicelib.schemas.routing_rules import Tags

MaxLoad = Annotated[int, Field(ge=0, le=1000)]
Locale = Literal["en", "ru", "uk"]
Presence = Literal["available", "paused", "off_shift"]
# What a person may set: off_shift is the schedule's word, not a switch.
PresenceSetting = Literal["available", "paused"]
PresenceReason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(without_format_characters),
]
PRESENCE_DESCRIPTION = (
    "paused: nothing new is handed to it and its unaccepted appeals go back through distribution at once; "
    "available: resumes (off_shift instead while its schedule says it is off shift)"
)
# Telegram chat ids are signed 64-bit integers.
ChatId = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


# The identity provider's user id (Cognito's `sub`, a UUID); what binds a person to an operator.
AuthSubject = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@+\-]+$")]
AUTH_SUBJECT_DESCRIPTION = (
    "The `sub` of the user (Cognito) who works as this operator: their token is this operator, "
    "whatever else it claims. null: nobody signs in as it"
)


TAGS_DESCRIPTION = (
    "Skills as name:value tags (lang:uk, product:insurance; lowercase): appeals that require tags "
    "(their source's or their own) go only to operators with every one of them. Returned sorted, without duplicates"
)


class OperatorCreate(Input):
    name: Name
    is_active: bool = True
    max_load: MaxLoad = 10
    auth_subject: AuthSubject | None = Field(None, description=AUTH_SUBJECT_DESCRIPTION)
    email: Email | None = Field(
        None,
        description="Invite this person: a login in the user pool (a temporary password by e-mail), "
        "bound to the new operator by the server. Never stored in our tables",
    )
    role: Literal["operator", "admin"] | None = Field(
        None, description="With email: the group the login joins (default operator; admin sees and changes everything)"
    )
    tags: Tags = Field((), description=TAGS_DESCRIPTION)

    @field_validator("email")
    @classmethod
    def _one_binding(cls, email: str | None, info: ValidationInfo) -> str | None:
        # The invitation binds the login it creates; a hand-typed subject next to it would be a second binding.
        if email is not None and info.data.get("auth_subject") is not None:
            raise ValueError("give email (invite) or auth_subject (bind an existing login), not both")
        return email

    @field_validator("role")
    @classmethod
    def _role_with_email(cls, role: str | None, info: ValidationInfo) -> str | None:
        if role is not None and "email" in info.data and info.data["email"] is None:
            raise ValueError("role goes with email: it is the invited login's group")
        return role


class OperatorPatch(Patch):
    name: Name | None = None
    is_active: bool | None = None
    max_load: MaxLoad | None = None
    auth_subject: AuthSubject | None = Field(None, description=AUTH_SUBJECT_DESCRIPTION)
    telegram_chat_id: ChatId | None = Field(None, description="Link a Telegram chat by hand (null unlinks)")
    locale: Locale | None = Field(None, description="The operator bot's language (null: the default)")
    presence: PresenceSetting | None = Field(None, description=PRESENCE_DESCRIPTION)
    reason: PresenceReason | None = Field(None, description='With presence "paused": why, e.g. "lunch"')
    tags: Tags | None = Field(None, description=TAGS_DESCRIPTION + " ([] removes them all)")

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"auth_subject", "telegram_chat_id", "locale"})

    @field_validator("reason")
    @classmethod
    def _reason_with_pause(cls, reason: str | None, info: ValidationInfo) -> str | None:
        return _check_reason(info.data.get("presence"), reason)


class OperatorOut(Output):
    id: str
    name: str
    is_active: bool
    max_load: int
    current_load: int
    telegram_chat_id: int | None = None
    locale: Locale | None = None
    auth_subject: str | None = Field(description=AUTH_SUBJECT_DESCRIPTION)
    created_at: datetime
    updated_at: datetime
    presence: Presence = Field(
        "available", description="available, paused (itself or an admin) or off_shift (its schedule)"
    )
    presence_reason: str | None = Field(
        None, description='Why not available: "lunch", "off shift until 09:00 Europe/Kyiv"'
    )
    presence_until: datetime | None = Field(None, description="off_shift: when its next shift starts (UTC)")
    time_zone: str | None = Field(None, description="Its schedule's IANA time zone; null: no schedule")
    tags: list[str] = Field(default_factory=list, description=TAGS_DESCRIPTION)


class OperatorUpdateQuery(Query):
    redistribute: bool = Field(
        False, description="With is_active=false: put its unaccepted active appeals back through distribution"
    )


class PresenceChange(Input):
    """Body of PATCH /me: an operator pausing or resuming itself. `presence` (with an optional
    `reason`), or the older `is_active` (false: pause, true: resume), not both."""

    presence: PresenceSetting | None = Field(None, description=PRESENCE_DESCRIPTION)
    reason: PresenceReason | None = Field(None, description='With presence "paused": why, e.g. "lunch"')
    is_active: bool | None = Field(None, description="Older form: false pauses, true resumes")

    @field_validator("reason")
    @classmethod
    def _reason_with_pause(cls, reason: str | None, info: ValidationInfo) -> str | None:
        return _check_reason(info.data.get("presence"), reason)

    @model_validator(mode="after")
    def _one_switch(self) -> PresenceChange:
        if (self.presence is None) == (self.is_active is None):
            raise ValueError("give presence (available or paused) or is_active, one of them")
        return self

    @property
    def target(self) -> PresenceSetting:
        if self.presence is not None:
            return self.presence
        return "available" if self.is_active else "paused"


def _check_reason(presence: str | None, reason: str | None) -> str | None:
    # Per field, so the 422 names `body.reason`.
    if reason is not None and presence != "paused":
        raise ValueError('reason goes with presence "paused"')
    return reason


class OperatorAppealsQuery(PageQuery):
    # A waiting appeal has no operator: only these two are an operator's.
    status: Literal[AppealStatus.ACTIVE, AppealStatus.CLOSED] | None = None


class TelegramLinkOut(Output):
    code: str = Field(description="One-time code, valid 15 minutes; send `/start <code>` to the bot")
    link: str = Field(description="The deep link https://t.me/<bot>?start=<code>")
    expires_at: datetime
