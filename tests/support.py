"""Helpers shared by the test modules: a JSON client and event factories."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from chalice.test import Client

from chalicelib.models import dynamodb_clients

_message_ids = itertools.count(1)
_external_ids = itertools.count(1)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Api:
    """JSON over the Chalice test client."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def call(self, method: str, path: str, json_body: Any = None, raw: bytes | str | None = None) -> Reply:
        body = raw if raw is not None else (json.dumps(json_body) if json_body is not None else None)
        response = getattr(self._client.http, method.lower())(
            path, headers={"Content-Type": "application/json"}, body=body
        )
        text = response.body.decode() if response.body else ""
        return Reply(response.status_code, json.loads(text) if text else None, dict(response.headers))

    def get(self, path: str) -> Reply:
        return self.call("GET", path)

    def post(self, path: str, json_body: Any = None, raw: bytes | str | None = None) -> Reply:
        return self.call("POST", path, json_body, raw)

    def put(self, path: str, json_body: Any = None, raw: bytes | str | None = None) -> Reply:
        return self.call("PUT", path, json_body, raw)

    def patch(self, path: str, json_body: Any = None, raw: bytes | str | None = None) -> Reply:
        return self.call("PATCH", path, json_body, raw)

    # --- factories: each returns the created resource's JSON -------------
    def operator(self, name: str = "Operator", **fields: Any) -> dict[str, Any]:
        reply = self.post("/operators", {"name": name, **fields})
        assert reply.status == 201, reply.body
        return reply.body

    def source(self, name: str = "Telegram Bot", **fields: Any) -> dict[str, Any]:
        reply = self.post("/sources", {"name": name, **fields})
        assert reply.status == 201, reply.body
        return reply.body

    def weights(self, source_id: str, weights: dict[str, int]) -> dict[str, Any]:
        body = [{"operator_id": operator_id, "weight": weight} for operator_id, weight in weights.items()]
        reply = self.put(f"/sources/{source_id}/weights", body)
        assert reply.status == 200, reply.body
        return reply.body

    def appeal(self, source_id: str, **fields: Any) -> dict[str, Any]:
        reply = self.post("/appeals", appeal_body(source_id, **fields))
        assert reply.status == 201, reply.body
        return reply.body


def appeal_body(source_id: str, **fields: Any) -> dict[str, Any]:
    """A valid POST /appeals body with a unique lead and message id."""
    body = {
        "lead_external_id": f"tg:{next(_external_ids)}",
        "source_id": source_id,
        "message": "Hello, I would like to know the price",
        "message_id": f"msg-{next(_message_ids)}",
    }
    body.update(fields)
    return body


@contextmanager
def count_dynamodb_requests() -> Iterator[Counter[str]]:
    """Counts DynamoDB API calls by operation name through a botocore event hook."""
    counts: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    clients = list(dynamodb_clients())
    for client in clients:
        client.meta.events.register("before-call.dynamodb", count)
    try:
        yield counts
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.dynamodb", count)


@contextmanager
def before_transaction(hook: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """Runs `hook(params)` just before each TransactWriteItems is sent."""

    def handler(params: dict[str, Any], **_: Any) -> None:
        hook(params)

    clients = list(dynamodb_clients())
    for client in clients:
        client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", handler)
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister("provide-client-params.dynamodb.TransactWriteItems", handler)
