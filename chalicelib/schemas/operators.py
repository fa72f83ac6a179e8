from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from chalicelib.models.appeals import AppealStatus
from chalicelib.schemas.common import Input, Name, Output, PageQuery, Patch, Query

MaxLoad = Annotated[int, Field(ge=0, le=1000)]


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
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"auth_subject"})

    name: Name | None = None
    is_active: bool | None = None
    max_load: MaxLoad | None = None
    auth_subject: AuthSubject | None = Field(None, description=AUTH_SUBJECT_DESCRIPTION)


class OperatorOut(Output):
    id: str
    name: str
    is_active: bool
    max_load: int
    current_load: int
    auth_subject: str | None = Field(description=AUTH_SUBJECT_DESCRIPTION)
    created_at: datetime
    updated_at: datetime


class OperatorUpdateQuery(Query):
    redistribute: bool = Field(
        False, description="With is_active=false: put its unaccepted active appeals back through distribution"
    )


class OperatorAppealsQuery(PageQuery):
    # A waiting appeal has no operator: only these two are an operator's.
    status: Literal[AppealStatus.ACTIVE, AppealStatus.CLOSED] | None = None
