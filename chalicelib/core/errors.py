"""Domain errors. Services raise these; only the HTTP edge maps them to statuses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "Conflict",
    "DomainError",
    "FieldProblem",
    "Forbidden",
    "InvalidInput",
    "MalformedInput",
    "NextStep",
    "NotFound",
    "PayloadTooLarge",
    "ServiceBusy",
    "Unauthorized",
]


class NextStep(StrEnum):
    """What the caller can do about an error, in domain words; the edge says
    how (the HTTP edge names the route), so no service names a route."""

    TRANSFER = "transfer"
    ANALYZE = "analyze"
    SET_BUSINESS_DOMAIN = "set_business_domain"


class DomainError(Exception):
    """Base of every error a client can cause or must react to."""

    def __init__(self, message: str, *, next_steps: Sequence[NextStep] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.next_steps = tuple(dict.fromkeys(next_steps))


class NotFound(DomainError):
    """An id that names nothing, well-formed or not."""

    @classmethod
    def entity(cls, kind: str, entity_id: str) -> NotFound:
        # Echo at most a bounded prefix of a garbage id back to the client.
        shown = entity_id if len(entity_id) <= 64 else entity_id[:64] + "…"
        return cls(f"{kind} {shown!r} not found")


class Unauthorized(DomainError):
    """A caller that did not prove who it is (e.g. a wrong webhook secret)."""


class Forbidden(DomainError):
    """A caller who proved who it is, asking for something its role or ownership does not allow."""


class Conflict(DomainError):
    """The request is valid but the current state forbids it."""


@dataclass(frozen=True)
class FieldProblem:
    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"


class InvalidInput(DomainError):
    """Semantically invalid input that a schema alone cannot catch (e.g. duplicates)."""

    def __init__(self, message: str, problems: Sequence[FieldProblem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class MalformedInput(DomainError):
    """Input that cannot even be parsed: bad JSON, a cursor that is not ours."""


class PayloadTooLarge(DomainError):
    """A request body above the size every route accepts."""


class ServiceBusy(DomainError):
    """Contention or throttling outlasted our retries; the caller may retry later."""
