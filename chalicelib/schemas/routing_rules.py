"""The routing rules a source or operator carries, as validated input: skill tags
(with the rules in chalicelib/routing/skills.py) and a line's order (with the key
in chalicelib/routing/line_order.py). Kept here, below the routing layer, so the
API schemas can use them; the routing modules re-export them."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_FALLBACK_SECONDS",
    "MAX_TAGS",
    "TAG_PATTERN",
    "LineMode",
    "LineOrder",
    "SkillRule",
    "Tag",
    "Tags",
    "parse_tags",
]

TAG_PATTERN = r"^[a-z][a-z0-9_-]{0,31}:[a-z0-9][a-z0-9_.-]{0,63}$"
MAX_TAGS = 32
MAX_FALLBACK_SECONDS = 7 * 24 * 3600
_TAG = re.compile(TAG_PATTERN)


def _check_tag(value: str) -> str:
    if not _TAG.match(value):
        raise PydanticCustomError(
            "tag_format",
            "expected name:value in lowercase, e.g. lang:uk (name: a letter then up to 31 of a-z 0-9 _ -; "
            "value: up to 64 of a-z 0-9 _ - .)",
        )
    return value


def _sorted_unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


Tag = Annotated[
    str,
    AfterValidator(_check_tag),
    WithJsonSchema({"type": "string", "pattern": TAG_PATTERN, "maxLength": 97, "examples": ["lang:uk"]}),
]
# Not strict: a JSON array arrives as a list wherever a before-validator ran (PATCH bodies); the items stay strict.
Tags = Annotated[tuple[Tag, ...], Strict(False), Field(max_length=MAX_TAGS), AfterValidator(_sorted_unique)]


class SkillRule(BaseModel):
    """A source's requirement: tags every appeal of it needs, and when to give up on them."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    required_tags: Tags = ()
    fallback_after_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_FALLBACK_SECONDS,
        description="After this many seconds of waiting the required tags are dropped; null: never",
    )


_TAGS: TypeAdapter[tuple[str, ...]] = TypeAdapter(Tags, config=ConfigDict(defer_build=True))


def parse_tags(values: Any, *, field: str = "tags") -> tuple[str, ...]:
    """Validates a tag list from outside (an intake message, a query); errors name
    ``field`` and the item (``required_tags.2``), ready for a 422."""
    try:
        return _TAGS.validate_python(values)
    except ValidationError as invalid:
        raise ValidationError.from_exception_data(
            "Tags",
            [
                {
                    "type": PydanticCustomError(e["type"], e["msg"]),
                    "loc": (field, *e["loc"]),
                    "input": e.get("input"),
                }
                for e in invalid.errors()
            ],
        ) from None


class LineMode(StrEnum):
    FIFO = "fifo"
    PRIORITY = "priority"


class LineOrder(BaseModel):
    """A source's line settings."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    mode: LineMode = LineMode.FIFO
    max_jump_seconds: int = Field(
        default=900,
        ge=0,
        le=24 * 3600,
        description=(
            "priority lines: the most a priority appeal moves ahead of its arrival time, hence the bound on "
            "overtaking: only appeals arriving within this many seconds after one can be served before it"
        ),
    )
    hot_threshold: float = Field(default=0.7, ge=0.0, le=1.0, description="AI score at or above which a lead is hot")
