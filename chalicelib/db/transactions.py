"""TransactWriteItems with named items, so cancellation reasons read as words.

DynamoDB reports why a transaction was cancelled as a list aligned with the
request's items; PynamoDB sends condition checks, then deletes, puts and
updates. `Transaction` records a label per item in that same order and turns a
cancellation into `Cancelled(codes={"operator": "ConditionalCheckFailed"})`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from chalicelib.core.errors import NotFound, ServiceBusy
from chalicelib.models import transaction

CONDITION_FAILED = "ConditionalCheckFailed"
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


class Cancelled(Exception):
    """The transaction did not commit; `codes` maps item label to reason."""

    def __init__(self, codes: dict[str, str], error_code: str | None) -> None:
        super().__init__(f"transaction cancelled: {codes or error_code}")
        self.codes = codes
        self.error_code = error_code

    def failed(self, label: str) -> bool:
        return self.codes.get(label) == CONDITION_FAILED

    @property
    def contended(self) -> bool:
        return self.error_code in CONTENTION_CODES or any(code in CONTENTION_CODES for code in self.codes.values())


class Transaction:
    # PynamoDB sends condition checks, deletes, puts, then updates; we use the last two.
    _ORDER = ("put", "update")

    def __init__(self) -> None:
        self._ops: dict[str, list[tuple[str, Callable[[Any], None]]]] = {kind: [] for kind in self._ORDER}

    def put(self, label: str, item: Model, condition: Condition | None = None) -> Transaction:
        self._ops["put"].append((label, lambda tx: tx.save(item, condition=condition)))
        return self

    def update(
        self, label: str, item: Model, actions: Sequence[Action], condition: Condition | None = None
    ) -> Transaction:
        self._ops["update"].append((label, lambda tx: tx.update(item, actions=list(actions), condition=condition)))
        return self

    def __len__(self) -> int:
        return sum(len(ops) for ops in self._ops.values())

    def commit(self) -> None:
        labels = [label for kind in self._ORDER for label, _ in self._ops[kind]]
        try:
            with transaction() as tx:
                for kind in self._ORDER:
                    for _, add in self._ops[kind]:
                        add(tx)
        except TransactWriteError as exc:
            if not isinstance(exc.cause, ClientError):
                # No answer at all (connection/timeout errors outlasted botocore's
                # retries): not a cancellation, and whether it committed is
                # unknown. A clean "retry later" for every caller, instead of a
                # `Cancelled` that callers would re-raise as an internal error.
                raise ServiceBusy("the database did not answer; retry shortly") from exc
            reasons = exc.cancellation_reasons or []
            codes = {label: reason.code for label, reason in zip(labels, reasons, strict=False) if reason is not None}
            raise Cancelled(codes, exc.cause_response_code) from exc


def is_contention(exc: PynamoDBException) -> bool:
    return getattr(exc, "cause_response_code", None) in CONTENTION_CODES


class Backoff:
    """Full-jitter exponential backoff for contended writes."""

    def __init__(
        self, attempts: int = 12, base: float = 0.005, cap: float = 0.25, rng: random.Random | None = None
    ) -> None:
        self.attempts = attempts
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()

    def sleep(self, attempt: int) -> None:
        time.sleep(self._rng.uniform(0, min(self.cap, self.base * 2**attempt)))


def commit_with_retry(tx: Transaction, backoff: Backoff | None = None) -> None:
    """Commits a transaction, riding out contention; a failed condition propagates as `Cancelled`."""
    backoff = backoff or Backoff()
    for attempt in range(backoff.attempts):
        try:
            tx.commit()
            return
        except Cancelled as failure:
            if not failure.contended:
                raise
            backoff.sleep(attempt)
    raise ServiceBusy("too much contention right now; retry shortly")


def update_existing(row: Model, actions: Sequence[Action], kind: str, backoff: Backoff | None = None) -> None:
    """UpdateItem on a row that must exist; fills `row` with the new image.

    A plain UpdateItem on a row inside an in-flight transaction is refused
    with TransactionConflict, and appeals keep touching operator and source
    rows, so contention is retried here.
    """
    backoff = backoff or Backoff()
    hash_key = row._hash_key_attribute()
    condition = hash_key.exists()
    for attempt in range(backoff.attempts):
        try:
            row.update(actions=list(actions), condition=condition)
            return
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise NotFound.entity(kind, getattr(row, hash_key.attr_name)) from None
            if not is_contention(exc):
                raise
            backoff.sleep(attempt)
    raise ServiceBusy(f"{kind} is busy; retry shortly")


def update_if(
    row: Model, actions: Sequence[Action], condition: Condition, what: str, backoff: Backoff | None = None
) -> bool:
    """UpdateItem under `condition`: True when written (`row` then holds the
    new image), False when the condition failed. A row inside an in-flight
    transaction (a lead during an intake) refuses with TransactionConflict;
    that is retried, never surfaced as an error."""
    backoff = backoff or Backoff()
    for attempt in range(backoff.attempts):
        try:
            row.update(actions=list(actions), condition=condition)
            return True
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            if not is_contention(exc):
                raise
            backoff.sleep(attempt)
    raise ServiceBusy(f"{what} is busy; retry shortly")
