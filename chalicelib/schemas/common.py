from __future__ import annotations

import unicodedata
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

T = TypeVar("T")

NAME_MAX_LENGTH = 200


def without_format_characters(value: str) -> str:
    """Refuses Unicode format characters (category Cf: bidi overrides and isolates,
    zero-width spaces and joiners, the BOM) and line/paragraph separators: they make
    a name read differently from what it is (an operator list that reverses)."""
    if any(unicodedata.category(ch) in ("Cf", "Zl", "Zp") for ch in value):
        raise ValueError("must not contain invisible formatting characters (bidi controls, zero-width characters)")
    return value


# At least one visible character and no control or format characters but newline and tab.
Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=NAME_MAX_LENGTH,
        # One visible character somewhere; control characters nowhere.
        pattern=r"^[^\x00-\x08\x0B-\x1F\x7F]*[^\x00-\x20\x7F][^\x00-\x08\x0B-\x1F\x7F]*$",
    ),
    AfterValidator(without_format_characters),
]
# DynamoDB numbers stop at magnitude 1e-130: a smaller float (1e-200, from a client or a model's reply)
# would fail the write with a 500. Six decimals is finer than any score or points we show.
StoredFloat = Annotated[float, Field(allow_inf_nan=False), AfterValidator(lambda value: round(value, 6) + 0.0)]
EntityId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=2000)]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class Input(BaseModel):
    """Request bodies: unknown fields rejected, no silent type coercion.

    Schemas are built on first use (`defer_build`), not at import: every
    function imports the whole app, and a scheduled job needs a handful of
    the ~90 models (import app: 188 → 169 ms)."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class Patch(Input):
    """Partial update: at least one field, and `null` only where a field allows it."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _reject_empty(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data:
            raise ValueError("give at least one field to change")
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _reject_null(cls, value: Any, info: ValidationInfo) -> Any:
        # Per field, so the 422 names the field (body.max_load), not the body.
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("cannot be null")
        return value

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class Query(BaseModel):
    """Query strings arrive as text, so numbers are coerced (not strict)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class PageQuery(Query):
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Page(Output, Generic[T]):
    items: list[T]
    next: str | None = Field(description="Opaque cursor for the next page; null on the last page.")


class Health(Output):
    status: str
