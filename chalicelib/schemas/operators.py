from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from chalicelib.models.appeals import AppealStatus
from chalicelib.schemas.common import Input, Name, Output, PageQuery, Patch, Query

MaxLoad = Annotated[int, Field(ge=0, le=1000)]
Locale = Literal["en", "ru", "uk"]
# Telegram chat ids are signed 64-bit integers.
ChatId = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


# The identity provider's user id (Cognito's `sub`, a UUID); what binds a person to an operator.
AuthSubject = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@+\-]+$")]
AUTH_SUBJECT_DESCRIPTION = (
    "The `sub` of the user (Cognito) who works as this operator: their token is this operator, "
    "whatever else it claims. null: nobody signs in as it"
)


class OperatorCreate(Input):
    name: Name
    is_active: bool = True
    max_load: MaxLoad = 10
    auth_subject: AuthSubject | None = Field(None, description=AUTH_SUBJECT_DESCRIPTION)


class OperatorPatch(Patch):
    name: Name | None = None
    is_active: bool | None = None
    max_load: MaxLoad | None = None
    auth_subject: AuthSubject | None = Field(None, description=AUTH_SUBJECT_DESCRIPTION)
    telegram_chat_id: ChatId | None = Field(None, description="Link a Telegram chat by hand (null unlinks)")
    locale: Locale | None = Field(None, description="The operator bot's language (null: the default)")

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"auth_subject", "telegram_chat_id", "locale"})


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


class OperatorUpdateQuery(Query):
    redistribute: bool = Field(
        False, description="With is_active=false: put its unaccepted active appeals back through distribution"
    )


class PresenceChange(Input):
    """Body of PATCH /me: an operator pausing or resuming itself."""

    is_active: bool = Field(description="false: pause (nothing new is handed to me); true: resume")


class OperatorAppealsQuery(PageQuery):
    # A waiting appeal has no operator: only these two are an operator's.
    status: Literal[AppealStatus.ACTIVE, AppealStatus.CLOSED] | None = None


class TelegramLinkOut(Output):
    code: str = Field(description="One-time code, valid 15 minutes; send `/start <code>` to the bot")
    link: str = Field(description="The deep link https://t.me/<bot>?start=<code>")
    expires_at: datetime
