from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from chalicelib.schemas.common import Output, PageQuery


class LeadsQuery(PageQuery):
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class LeadOut(Output):
    id: str
    external_id: str
    name: str | None
    phone: str | None
    email: str | None
    appeals_count: int
    created_at: datetime
    updated_at: datetime
