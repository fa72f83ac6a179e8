"""Watching and breaking DynamoDB transactions through botocore event hooks
(never by patching our code): the DynamoDB Local tests inject faults with
it, the benchmarks count how transactions ended."""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.httpsession import URLLib3Session

from chalicelib.models import dynamodb_clients

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Fault", "FaultLog", "failing_transactions", "watch_transactions"]


class Fault(StrEnum):
    # DynamoDB cancelled the transaction: another one holds an item (here: the
    # operator row). botocore does not retry it; the service must.
    CONFLICT = "TransactionConflict"
    # The whole call was throttled (as it surfaces once botocore's own retries
    # are spent).
    THROTTLING = "ThrottlingException"
    # The connection timed out before the request left; botocore resends it.
    CONNECT_TIMEOUT = "ConnectTimeout"
    # The transaction committed but its response was lost (read timeout);
    # botocore resends it with the same ClientRequestToken.
    LOST_RESPONSE = "LostResponse"
    # Nothing reaches DynamoDB (what the caller sees after botocore gave up).
    UNREACHABLE = "EndpointConnectionError"


@dataclass
class FaultLog:
    calls: int = 0  # TransactWriteItems calls made by the services
    sends: int = 0  # HTTP attempts actually sent (botocore's own retries included)
    injected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # each call's result, as the client saw it
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _cancelled(request: dict[str, Any], reason: str, table_suffix: str) -> dict[str, Any]:
    """A TransactionCanceledException as DynamoDB words it: one reason per item."""
    items = json.loads(request["body"])["TransactItems"]
    hit = next(
        (i for i, item in enumerate(items) if any(op["TableName"].endswith(table_suffix) for op in item.values())), 0
    )
    reasons = [
        {"Code": reason, "Message": "Transaction is ongoing for the item"} if i == hit else {"Code": "None"}
        for i in range(len(items))
    ]
    return {
        "Error": {
            "Code": "TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
            f"[{', '.join(r['Code'] for r in reasons)}]",
        },
        "CancellationReasons": reasons,
        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}},
    }


def _throttled() -> dict[str, Any]:
    return {
        "Error": {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the allowed throughput."},
        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}},
    }


def _emitters() -> list[Any]:
    """The event emitters of every DynamoDB client the services use, once each."""
    unique: dict[int, Any] = {}
    for client in dynamodb_clients():
        unique.setdefault(id(client.meta.events), client.meta.events)
    return list(unique.values())


class _Injector:
    """The three botocore hooks of one `failing_transactions` block."""

    def __init__(self, fault: Fault | None, times: int | None, every: int, conflict_on: str) -> None:
        self.fault, self.times, self.every, self.conflict_on = fault, times, every, conflict_on
        self.log = FaultLog()
        self.transport = fault in (Fault.CONNECT_TIMEOUT, Fault.LOST_RESPONSE)
        self.broken_attempt: set[int] = set()  # threads whose next HTTP attempt must fail

    def _inject_now(self) -> bool:
        log = self.log
        with log.lock:
            log.calls += 1
            inject = (
                self.fault is not None
                and (self.times is None or log.injected < self.times)
                and log.calls % self.every == 0
            )
            log.injected += inject
        return inject

    def before_call(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not self._inject_now() or self.fault is None:
            return None
        if self.transport:
            self.broken_attempt.add(threading.get_ident())
            return None
        if self.fault is Fault.UNREACHABLE:
            raise EndpointConnectionError(endpoint_url=params["url"])
        conflict = self.fault is Fault.CONFLICT
        body = _cancelled(params, self.fault.value, self.conflict_on) if conflict else _throttled()
        return AWSResponse(params["url"], 400, {}, None), body

    def before_send(self, request: AWSPreparedRequest, **_: Any) -> None:
        with self.log.lock:
            self.log.sends += 1
        if threading.get_ident() not in self.broken_attempt:
            return
        self.broken_attempt.discard(threading.get_ident())
        if self.fault is Fault.CONNECT_TIMEOUT:
            raise ConnectTimeoutError(endpoint_url=request.url)
        session = URLLib3Session()
        try:
            session.send(request)  # DynamoDB commits it...
        finally:
            session.close()
        raise ReadTimeoutError(endpoint_url=request.url)  # ...and the answer never arrives.

    def after_call(self, http_response: AWSResponse, parsed: dict[str, Any], **_: Any) -> None:
        outcome = "OK"
        if http_response.status_code >= 300:
            reasons = [r["Code"] for r in parsed.get("CancellationReasons", []) if r.get("Code") != "None"]
            outcome = "+".join(reasons) or parsed.get("Error", {}).get("Code", "?")
        with self.log.lock:
            self.log.outcomes[outcome] += 1


@contextmanager
def failing_transactions(
    fault: Fault | None, *, times: int | None = 1, every: int = 1, conflict_on: str = "-operators"
) -> Iterator[FaultLog]:
    """Makes TransactWriteItems fail with `fault` on every `every`-th call,
    `times` times in all (None: for as long as the block runs). With no fault
    it only watches: how many transactions, and how each one ended.

    CONFLICT and THROTTLING answer in place of DynamoDB (a `before-call` hook
    returning the error response, parsed by botocore like a real one);
    UNREACHABLE raises what botocore raises once it gives up; CONNECT_TIMEOUT
    and LOST_RESPONSE break the HTTP attempt itself (`before-send`), so
    botocore's own retry runs.
    """
    injector = _Injector(fault, times, every, conflict_on)
    hooks = [
        ("before-call.dynamodb.TransactWriteItems", injector.before_call),
        ("before-send.dynamodb.TransactWriteItems", injector.before_send),
        ("after-call.dynamodb.TransactWriteItems", injector.after_call),
    ]
    emitters = _emitters()
    for emitter in emitters:
        for event, handler in hooks:
            emitter.register(event, handler)
    try:
        yield injector.log
    finally:
        for emitter in emitters:
            for event, handler in hooks:
                emitter.unregister(event, handler)


def watch_transactions() -> contextlib.AbstractContextManager[FaultLog]:
    """Counts TransactWriteItems calls and their outcomes (lost races show as
    `ConditionalCheckFailed`), injecting nothing."""
    return failing_transactions(None)
