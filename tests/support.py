"""Helpers shared by the test modules: a JSON client and event factories."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.access.bot_keys import rotate_key
from chalicelib.access.queue_signing import sign_with_api_key
from chalicelib.core.errors import NotFound
from chalicelib.directory.operators import update_operator
from chalicelib.models import dynamodb_clients
from chalicelib.schemas.auth import ApiKeyRotation
from chalicelib.schemas.operators import OperatorPatch

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from chalice.test import Client

    from scripts.local.dev_auth import DevKeys

_message_ids = itertools.count(1)
_external_ids = itertools.count(1)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class AppealsStream:
    """The appeals table's stream for the moto tier, fed to the aggregates consumer.

    Moto (5.2.5) answers DescribeStream with "Not yet implemented", so this builds
    the records Lambda would hand the consumer from the table's images: each
    `catch_up()` reads the table, compares every item with the image it last saw,
    and delivers the differences (INSERT / MODIFY / REMOVE with old and new images,
    increasing sequence numbers, one shard) as one batch. Intermediate states
    between two catch-ups are folded together, which the aggregates cannot tell
    apart (they add up net changes). The DynamoDB Local tier reads the real stream.
    """

    SHARD_ID = "shardId-00000001-moto"

    def __init__(self) -> None:
        self._images: dict[str, dict[str, Any]] = {}
        self._sequence = itertools.count(1)

    def records(self) -> list[dict[str, Any]]:
        from chalicelib.models import Appeal

        client = Appeal._get_connection().connection.client
        now: dict[str, dict[str, Any]] = {}
        for page in client.get_paginator("scan").paginate(TableName=Appeal.Meta.table_name, ConsistentRead=True):
            now.update({item["appeal_id"]["S"]: item for item in page["Items"]})
        records = []
        for key in sorted(set(now) | set(self._images)):
            old, new = self._images.get(key), now.get(key)
            if old == new:
                continue
            change: dict[str, Any] = {
                "ApproximateCreationDateTime": time.time(),
                "Keys": {"appeal_id": {"S": key}},
                "SequenceNumber": f"{next(self._sequence):021d}",
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            }
            change.update({"OldImage": old} if old is not None else {})
            change.update({"NewImage": new} if new is not None else {})
            name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
            records.append({"eventID": uuid.uuid4().hex, "eventName": name, "dynamodb": change})
        self._images = now
        return records

    def catch_up(self) -> list[dict[str, Any]]:
        """Delivers what changed since the last catch-up; returns the records delivered."""
        from chalicelib.directory.aggregates import apply_appeal_records

        records = self.records()
        apply_appeal_records(records, shard_id=self.SHARD_ID)
        return records


class Api:
    """JSON over the Chalice test client."""

    def __init__(self, client: Client, token: str | None = None, stream: AppealsStream | None = None) -> None:
        self._client = client
        self._token = token
        self._stream = stream or AppealsStream()

    def as_(self, token: str | None) -> Api:
        """The same client presenting another bearer token (None: no Authorization header)."""
        return Api(self._client, token, self._stream)

    def caught_up(self) -> Api:
        """This client once the appeals stream's changes so far reached the source aggregates
        (what `GET /stats/distribution` reads; on AWS they arrive within about a second)."""
        self._stream.catch_up()
        return self

    def call(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        body = raw if raw is not None else (json.dumps(json_body) if json_body is not None else None)
        sent = {"Content-Type": "application/json"}
        if self._token is not None:
            sent["Authorization"] = f"Bearer {self._token}"
        response = getattr(self._client.http, method.lower())(path, headers={**sent, **(headers or {})}, body=body)
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

    def two_teams(self, *sources: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Anna and Boris (max_load 5), each the only operator of a source of its own:
        (anna, boris, anna's source, boris's source)."""
        anna, boris = self.operator("Anna", max_load=5), self.operator("Boris", max_load=5)
        first, second = (self.source(name) for name in sources or ("Telegram", "WhatsApp"))
        self.weights(first["id"], {anna["id"]: 1})
        self.weights(second["id"], {boris["id"]: 1})
        return anna, boris, first, second

    def appeal(self, source_id: str, **fields: Any) -> dict[str, Any]:
        reply = self.post("/appeals", appeal_body(source_id, **fields))
        assert reply.status == 201, reply.body
        return reply.body

    def transferable_lead(self) -> dict[str, Any]:
        """A lead on a source of its own: qualified, with a business domain and a rules score of 0.70."""
        lead_id = self.appeal(self.source()["id"])["lead_id"]
        assert self.patch(f"/leads/{lead_id}", {"business_domain": "retail"}).status == 200
        for stage in ("contacted", "qualified"):
            reply = self.post(f"/leads/{lead_id}/stage", {"stage": stage})
            assert reply.status == 200, reply.body
        scored = self.post(f"/leads/{lead_id}/analyze").body
        assert scored["ai_score"] >= 0.6
        return scored


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


def intake_message(source_id: str, **fields: Any) -> dict[str, Any]:
    """A valid v1 intake queue message with a unique lead and message id."""
    message = {
        "version": 1,
        "source_id": source_id,
        "message_id": f"msg-{next(_message_ids)}",
        "lead": {"external_id": f"tg:{next(_external_ids)}", "name": "Ivan"},
        "text": "Hello, what does it cost?",
    }
    message.update(fields)
    return message


_bot_keys: dict[str, str] = {}


def bot_key(source_id: str) -> str:
    """An API key of the source (issued once per source, then reused), as its bot holds it."""
    if source_id not in _bot_keys:
        issued = rotate_key(source_id, ApiKeyRotation(previous_keys_valid_for_seconds=86400))
        _bot_keys[source_id] = issued.api_key
    return _bot_keys[source_id]


def signed(body: str, source_id: str) -> dict[str, dict[str, str]]:
    """The SendMessage attributes a source's bot puts on a queue message."""
    return sign_with_api_key(body, bot_key(source_id))


def sqs_record(
    body: str | dict[str, Any], *, message_id: str | None = None, receive_count: int = 1, sign: bool = True
) -> dict[str, Any]:
    """One SQS record as Lambda delivers it; every record gets its own messageId
    (chalice's generate_sqs_event reuses one id for all records). A message for
    an existing source is signed by its bot, as a real bot would."""
    text = body if isinstance(body, str) else json.dumps(body)
    attributes: dict[str, Any] = {}
    source_id = body.get("source_id") if isinstance(body, dict) else None
    if sign and isinstance(source_id, str) and source_id.startswith("src_"):
        try:
            attributes = {
                name: {"stringValue": value["StringValue"], "dataType": "String"}
                for name, value in signed(text, source_id).items()
            }
        except NotFound:
            attributes = {}
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"receipt-{uuid.uuid4()}",
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1763600000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1763600000001",
        },
        "messageAttributes": attributes,
        "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:leadcrm-intake",
        "awsRegion": "us-east-1",
    }


def sqs_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


@contextmanager
def on_dynamodb_call(operation: str, hook: Callable[..., Any]) -> Iterator[None]:
    """Runs `hook(**kwargs)` before each DynamoDB `operation`; raising from it
    fails that call as the network or the service would."""
    with on_dynamodb_event(f"before-call.dynamodb.{operation}", hook):
        yield


@contextmanager
def on_dynamodb_event(event: str, hook: Callable[..., Any]) -> Iterator[None]:
    """Registers `hook` for a botocore `event` on every DynamoDB client the app uses, for the block."""
    clients = list(dynamodb_clients())
    for client in clients:
        client.meta.events.register(event, hook)
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister(event, hook)


def operator_token(keys: DevKeys, operator_id: str) -> str:
    """A signed-in operator's token: its `sub` bound to the operator on the server, as an admin would."""
    subject = f"user-{operator_id}"
    update_operator(operator_id, OperatorPatch(auth_subject=subject))
    return keys.token("operator", subject=subject)
