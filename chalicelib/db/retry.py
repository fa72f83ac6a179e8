"""The one contention retry policy: how often, and how long apart, a write
that met contention (or a state that moved under it) is tried again.

Every loop that retries a DynamoDB write goes through `RetryPolicy.tries`,
so the budget and the backoff are decided here, once.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pynamodb.exceptions import PynamoDBException

__all__ = ["CONTENTION_CODES", "RetryPolicy", "is_contention", "tries"]

# Reasons (and whole-call error codes) that say "try again", not "no".
CONTENTION_CODES = frozenset(
    {
        "TransactionConflict",
        "TransactionConflictException",
        "TransactionInProgressException",
        "ThrottlingError",
        "ThrottlingException",
        "ProvisionedThroughputExceeded",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)


def is_contention(exc: PynamoDBException) -> bool:
    return getattr(exc, "cause_response_code", None) in CONTENTION_CODES


@dataclass(frozen=True)
class RetryPolicy:
    """Full-jitter exponential backoff: attempt n waits up to min(cap, base * 2**n)."""

    attempts: int = 12
    base: float = 0.005
    cap: float = 0.25
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def pause(self, attempt: int) -> None:
        time.sleep(self.rng.uniform(0, min(self.cap, self.base * 2**attempt)))

    def tries(self) -> Iterator[int]:
        """0, 1, ... attempts-1, pausing before every try but the first.
        The caller returns on success and raises its own error after the last."""
        for attempt in range(self.attempts):
            if attempt:
                self.pause(attempt - 1)
            yield attempt


DEFAULT_POLICY = RetryPolicy()


def tries(policy: RetryPolicy | None = None) -> Iterator[int]:
    return (policy or DEFAULT_POLICY).tries()
