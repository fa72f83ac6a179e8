"""TransactWriteItems with named items, so cancellation reasons read as words.

DynamoDB reports why a transaction was cancelled as a list aligned with the
request's items; PynamoDB sends condition checks, then deletes, puts and
updates. `Transaction` records a label per item in that same order and turns a
cancellation into `Cancelled(codes={"operator": "ConditionalCheckFailed"})`.

Two helpers that touch the same item (an intake bumps a source's total and,
when nobody is free, its waiting count) are merged into one update of that
item: DynamoDB allows one operation per item in a transaction. A transaction
of one item is sent as that item's own conditional write (half the cost of a
TransactWriteItems), with the same labels and the same `Cancelled`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.core.config import current_settings
from chalicelib.core.errors import InvalidInput, NotFound, ServiceBusy
from chalicelib.db.retry import CONTENTION_CODES, RetryPolicy, is_contention, tries
from chalicelib.db.tables import TableMeta

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pynamodb.expressions.condition import Condition
    from pynamodb.expressions.update import Action
    from pynamodb.models import Model

__all__ = [
    "CONDITION_FAILED",
    "Cancelled",
    "Transaction",
    "commit_with_retry",
    "transaction_connection",
    "update_existing",
    "update_if",
]

CONDITION_FAILED = "ConditionalCheckFailed"
_CONDITION_FAILED_EXCEPTION = "ConditionalCheckFailedException"
# DynamoDB refusing the write itself (an item past 400 KB, a too-large
# expression): retrying cannot help, so it is the request's (or the message's) failure.
_VALIDATION = "ValidationException"


@lru_cache(maxsize=8)
def _connection(region: str, host: str | None) -> Connection:
    return Connection(
        region=region,
        host=host,
        connect_timeout_seconds=TableMeta.connect_timeout_seconds,
        read_timeout_seconds=TableMeta.read_timeout_seconds,
        max_retry_attempts=TableMeta.max_retry_attempts,
        max_pool_connections=TableMeta.max_pool_connections,
    )


def transaction_connection() -> Connection:
    """The connection transactions use on the configured endpoint (built once)."""
    settings = current_settings()
    return _connection(settings.region, settings.dynamodb_endpoint)


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


@dataclass
class Write:
    """One item's write: what it does and what must hold for it to happen."""

    kind: Literal["put", "update"]
    labels: list[str]
    item: Model
    actions: list[Action] = field(default_factory=list)
    condition: Condition | None = None

    @property
    def label(self) -> str:
        return self.labels[0]

    @property
    def table(self) -> str:
        return type(self.item).__name__

    @property
    def key(self) -> tuple[str, ...]:
        hash_key, range_key = self.item._get_hash_range_key_serialized_values()
        return (self.table, str(hash_key), str(range_key))

    def described(self) -> dict[str, object]:
        """The write as data: for tests that hold a transition to the items and conditions it adds."""
        return {
            "labels": list(self.labels),
            "kind": self.kind,
            "table": self.table,
            "actions": [f"{type(action).__name__.removesuffix('Action').upper()} {action}" for action in self.actions],
            "condition": None if self.condition is None else str(self.condition),
        }


class Transaction:
    # PynamoDB sends condition checks, deletes, puts, then updates; we use the last two.
    _ORDER = ("put", "update")

    def __init__(self) -> None:
        self._writes: dict[tuple[str, ...], Write] = {}

    def put(self, label: str, item: Model, condition: Condition | None = None) -> Transaction:
        write = Write("put", [label], item, condition=condition)
        if write.key in self._writes:
            raise ValueError(f"{label}: this item is already written in this transaction")
        self._writes[write.key] = write
        return self

    def update(
        self, label: str, item: Model, actions: Sequence[Action], condition: Condition | None = None
    ) -> Transaction:
        write = Write("update", [label], item, list(actions), condition)
        same = self._writes.get(write.key)
        if same is None:
            self._writes[write.key] = write
            return self
        if same.kind != "update":
            raise ValueError(f"{label}: this item is already put in this transaction")
        # One operation per item: merge into the write already there.
        same.actions.extend(actions)
        if condition is not None:
            same.condition = condition if same.condition is None else same.condition & condition
        if label not in same.labels:
            same.labels.append(label)
        return self

    def __len__(self) -> int:
        return len(self._writes)

    @property
    def writes(self) -> list[Write]:
        """In the order DynamoDB receives (and reports on) them."""
        return [write for kind in self._ORDER for write in self._writes.values() if write.kind == kind]

    def write(self, label: str) -> Write:
        return next(write for write in self._writes.values() if label in write.labels)

    def described(self) -> list[dict[str, object]]:
        return [write.described() for write in self.writes]

    def commit(self) -> None:
        writes = self.writes
        if len(writes) == 1:
            _write_one(writes[0])
            return
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                for write in writes:
                    if write.kind == "put":
                        tx.save(write.item, condition=write.condition)
                    else:
                        tx.update(write.item, actions=write.actions, condition=write.condition)
        except TransactWriteError as exc:
            if not isinstance(exc.cause, ClientError):
                raise _no_answer() from exc
            if exc.cause_response_code == _VALIDATION:
                raise _refused_by_database() from exc
            reasons = exc.cancellation_reasons or []
            codes: dict[str, str] = {}
            for write, reason in zip(writes, reasons, strict=False):
                if reason is not None:
                    codes.update(dict.fromkeys(write.labels, reason.code))
            raise Cancelled(codes, exc.cause_response_code) from exc


def _no_answer() -> ServiceBusy:
    # No answer at all (connection/timeout errors outlasted botocore's
    # retries): not a cancellation, and whether it committed is unknown. A
    # clean "retry later" for every caller, instead of a `Cancelled` that
    # callers would re-raise as an internal error.
    return ServiceBusy("the database did not answer; retry shortly")


def _refused_by_database() -> InvalidInput:
    # Permanent: an HTTP caller gets a 422, a queue message fails alone and ends in the DLQ.
    return InvalidInput("the database refused this change as invalid (an item would exceed its size limit)")


def _write_one(write: Write) -> None:
    try:
        if write.kind == "put":
            write.item.save(condition=write.condition)
        else:
            write.item.update(actions=write.actions, condition=write.condition)
    except (PutError, UpdateError) as exc:
        if not isinstance(exc.cause, ClientError):
            raise _no_answer() from exc
        if exc.cause_response_code == _CONDITION_FAILED_EXCEPTION:
            raise Cancelled(dict.fromkeys(write.labels, CONDITION_FAILED), None) from exc
        if exc.cause_response_code == _VALIDATION:
            raise _refused_by_database() from exc
        raise Cancelled({}, exc.cause_response_code) from exc


def commit_with_retry(tx: Transaction, policy: RetryPolicy | None = None) -> None:
    """Commits a transaction, riding out contention; a failed condition propagates as `Cancelled`."""
    for _ in tries(policy):
        try:
            tx.commit()
            return
        except Cancelled as failure:
            if not failure.contended:
                raise
    raise ServiceBusy("too much contention right now; retry shortly")


def update_existing(row: Model, actions: Sequence[Action], kind: str, policy: RetryPolicy | None = None) -> None:
    """UpdateItem on a row that must exist; fills `row` with the new image.

    A plain UpdateItem on a row inside an in-flight transaction is refused
    with TransactionConflict, and appeals keep touching operator and source
    rows, so contention is retried here.
    """
    hash_key = row._hash_key_attribute()
    if update_if(row, actions, hash_key.exists(), kind, policy):
        return
    raise NotFound.entity(kind, str(getattr(row, hash_key.attr_name)))


def update_if(
    row: Model, actions: Sequence[Action], condition: Condition, what: str, policy: RetryPolicy | None = None
) -> bool:
    """UpdateItem under `condition`: True when written (`row` then holds the
    new image), False when the condition failed. A row inside an in-flight
    transaction (a lead during an intake) refuses with TransactionConflict;
    that is retried, never surfaced as an error."""
    for _ in tries(policy):
        try:
            row.update(actions=list(actions), condition=condition)
            return True
        except UpdateError as exc:
            if exc.cause_response_code == _CONDITION_FAILED_EXCEPTION:
                return False
            if exc.cause_response_code == _VALIDATION:
                raise _refused_by_database() from exc
            if not is_contention(exc):
                raise
    raise ServiceBusy(f"{what} is busy; retry shortly")
