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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.schemas.routing_rules import MAX_TAGS, TAG_PATTERN, SkillRule, Tag, Tags, parse_tags

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
