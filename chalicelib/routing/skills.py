"""Skills as data: tags on operators (``lang:uk``, ``product:insurance``), tags an
appeal requires (its source's plus its own, e.g. the language a bot detected),
and which candidates of the weighted draw may take it.

Rules, decided here once:

* A tag is ``name:value``: ``^[a-z][a-z0-9_-]{0,31}:[a-z0-9][a-z0-9_.-]{0,63}$``,
  at most 32 per list. Nothing is lower-cased for the client: ``lang:UK`` is a
  422 naming the list item (``tags.1``), so what is stored is what was sent.
  Lists come back sorted and without duplicates.
* An operator is eligible when it has every required tag (no requirement: everyone).
* Fallback: a source may set ``fallback_after_seconds``; once an appeal has
  waited that long its required tags are dropped and anyone may take it.
  Without it, an appeal nobody qualifies for waits (and the line says why).
* Eligibility only filters; the draw among the eligible stays the weighted draw
  (``draw``), so shares among them are exactly proportional to their draw weights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from chalicelib.routing.draw import Candidate

__all__ = [
    "MAX_TAGS",
    "TAG_PATTERN",
    "Eligibility",
    "SkillRule",
    "Tag",
    "Tags",
    "eligible",
    "eligible_candidates",
    "missing_tags",
    "parse_tags",
    "required_now",
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
Tags = Annotated[tuple[Tag, ...], Field(max_length=MAX_TAGS), AfterValidator(_sorted_unique)]


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


def eligible(operator_tags: Collection[str], required_tags: Collection[str]) -> bool:
    """Has the operator every required tag?"""
    return not missing_tags(operator_tags, required_tags)


def missing_tags(operator_tags: Collection[str], required_tags: Collection[str]) -> tuple[str, ...]:
    """The required tags the operator lacks, sorted (for the decision record)."""
    have = operator_tags if isinstance(operator_tags, frozenset | set) else frozenset(operator_tags)
    return tuple(sorted(tag for tag in set(required_tags) if tag not in have))


def required_now(
    required_tags: Collection[str], *, waited_seconds: float, fallback_after_seconds: int | None
) -> frozenset[str]:
    """The tags still required after `waited_seconds` in the line: all of them, or none once the fallback is due."""
    if fallback_after_seconds is not None and waited_seconds >= fallback_after_seconds:
        return frozenset()
    return frozenset(required_tags)


@dataclass(frozen=True)
class Eligibility:
    """Who may be drawn for one appeal, and why the others may not."""

    candidates: tuple[Candidate, ...]  # the eligible ones, in their original order
    required: tuple[str, ...]  # what was required (empty after a fallback)
    lacking: tuple[tuple[str, tuple[str, ...]], ...]  # (operator_id, tags it lacks) for the rest
    fallback: bool  # the requirement was dropped because the appeal waited long enough

    def record(self) -> dict[str, Any]:
        return {
            "required_tags": list(self.required),
            "fallback": self.fallback,
            "lacking": {operator_id: list(tags) for operator_id, tags in self.lacking},
        }


def eligible_candidates(
    candidates: Sequence[Candidate],
    operator_tags: Mapping[str, Collection[str]],
    required_tags: Collection[str],
    *,
    waited_seconds: float = 0.0,
    fallback_after_seconds: int | None = None,
) -> Eligibility:
    """Filters the draw's candidates by skills; pass ``Eligibility.candidates`` to ``draw``.

    `required_tags` is the union of the source's and the appeal's; an operator
    missing from `operator_tags` has no tags.
    """
    required = required_now(required_tags, waited_seconds=waited_seconds, fallback_after_seconds=fallback_after_seconds)
    fallback = bool(required_tags) and not required
    chosen: list[Candidate] = []
    lacking: list[tuple[str, tuple[str, ...]]] = []
    for candidate in candidates:
        gaps = missing_tags(operator_tags.get(candidate.operator_id, ()), required) if required else ()
        if gaps:
            lacking.append((candidate.operator_id, gaps))
        else:
            chosen.append(candidate)
    return Eligibility(tuple(chosen), tuple(sorted(required)), tuple(lacking), fallback)
