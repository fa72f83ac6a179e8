"""A conflict-faithful DynamoDB: an HTTP proxy on loopback in front of DynamoDB Local.

DynamoDB Local serialises overlapping transactions; DynamoDB does not. While a
`TransactWriteItems` is in flight, DynamoDB refuses any other transaction that
touches one of its items (`TransactionCanceledException`, reason
`TransactionConflict` for those items) and any single write to one of them
(`TransactionConflictException`). This proxy brings that rule to DynamoDB Local:

- it forwards every request unchanged (reads, scans, streams, table admin);
- a `TransactWriteItems` HOLDS each of its items (Put: the key taken from the
  Item with the table's key schema, fetched once per table with DescribeTable;
  Update, Delete, ConditionCheck: `Key`) from the moment it arrives until both
  DynamoDB Local has answered and the service time (default 10 ms) has passed,
  so a hold lasts at least the service time even when the engine is faster;
- an overlapping `TransactWriteItems` (or `TransactGetItems`) is answered here,
  never forwarded: HTTP 400 `TransactionCanceledException` with
  `CancellationReasons` aligned with its items, `TransactionConflict` on the
  held ones and `None` on the rest, in DynamoDB's JSON shape and message;
- an overlapping PutItem / UpdateItem / DeleteItem gets HTTP 400
  `TransactionConflictException` ("Transaction is ongoing for the item");
- a `TransactWriteItems` that repeats the `ClientRequestToken` of one that
  committed less than 10 minutes ago is idempotent, as documented: forwarded
  (DynamoDB Local answers it from its idempotency record) without a conflict
  check or a hold; one that repeats the token of a transaction still in flight
  gets `TransactionInProgressException`. botocore resends a transaction with
  the same token when its answer was lost.

Only transactions hold items: a single write is atomic inside the engine, and
DynamoDB documents no conflict for a transaction arriving during one.
BatchWriteItem is forwarded unchanged (nothing in the app uses it).

It counts requests per operation, the conflicts it answered (and on which
items), and committed writes per item. Read them in-process (`stats()`,
`reset()`) or over HTTP (`GET /__proxy__/stats`, `POST /__proxy__/reset`),
which is how `ConflictProxyProcess` reads a proxy running in its own process.

    python -m scripts.local.conflict_proxy --target http://127.0.0.1:8001 --port 8011 [--service-ms 10]

Threaded (one thread per client connection, each with its own keep-alive
connection to the engine); it never reads the request signature.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from types import FrameType, TracebackType

__all__ = [
    "DEFAULT_SERVICE_TIME",
    "ConflictEngine",
    "ConflictProxy",
    "ConflictProxyProcess",
    "ProxyStats",
    "cancellation_body",
    "conflict_exception_body",
]

HOST = "127.0.0.1"
DEFAULT_SERVICE_TIME = 0.010
CONTROL_PREFIX = "/__proxy__/"

_ERROR_TYPE = "com.amazonaws.dynamodb.v20120810#{}"
# DynamoDB's wording (TransactWriteItems API reference, "Cancellation reasons").
CONFLICT_MESSAGE = "Transaction is ongoing for the item"
_JSON = "application/x-amz-json-1.0"
# Never forwarded: they describe one hop, not the request.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}
)
IDEMPOTENCY_WINDOW = 600.0  # seconds a committed transaction's ClientRequestToken is remembered
_SINGLE_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
_SCHEMA_CHANGES = frozenset({"CreateTable", "DeleteTable"})

ItemKey = tuple[str, str]  # (table name, the key's attribute values as canonical JSON)


# --- DynamoDB's answers ------------------------------------------------------------


def cancellation_body(conflicts: list[bool]) -> dict[str, Any]:
    """`TransactionCanceledException` with reasons aligned with the request's items."""
    reasons = [
        {"Code": "TransactionConflict", "Message": CONFLICT_MESSAGE} if hit else {"Code": "None"} for hit in conflicts
    ]
    codes = ", ".join(reason["Code"] for reason in reasons)
    return {
        "__type": _ERROR_TYPE.format("TransactionCanceledException"),
        "CancellationReasons": reasons,
        "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
    }


def conflict_exception_body() -> dict[str, Any]:
    """What a single write on an item inside an in-flight transaction gets."""
    return {"__type": _ERROR_TYPE.format("TransactionConflictException"), "Message": CONFLICT_MESSAGE}


def in_progress_body() -> dict[str, Any]:
    """A transaction resent with the token of one still in flight."""
    return {
        "__type": _ERROR_TYPE.format("TransactionInProgressException"),
        "Message": "The transaction with the given request token is already in progress.",
    }


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def error(cls, body: dict[str, Any], status: int = 400) -> Reply:
        data = json.dumps(body, separators=(",", ":")).encode()
        headers = [
            ("Content-Type", _JSON),
            ("x-amzn-RequestId", uuid.uuid4().hex.upper()),
            ("x-amz-crc32", str(zlib.crc32(data))),  # botocore checks it when present, as DynamoDB sends it
            ("Date", formatdate(usegmt=True)),
        ]
        return cls(status, headers, data)


# --- which items a request touches --------------------------------------------------


def _canonical(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


class KeySchemas:
    """Each table's key attribute names, from DescribeTable on the engine, once per table."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._names: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self._client: Any = None

    def _describe(self, table: str) -> tuple[str, ...] | None:
        with self._lock:
            if self._client is None:
                self._client = boto3.client(
                    "dynamodb",
                    endpoint_url=self._target,
                    region_name="us-east-1",
                    aws_access_key_id="proxy",  # DynamoDB Local takes any credentials
                    aws_secret_access_key="proxy",
                    config=Config(retries={"max_attempts": 3, "mode": "standard"}),
                )
            client = self._client
        try:
            schema = client.describe_table(TableName=table)["Table"]["KeySchema"]
        except (BotoCoreError, ClientError):
            return None  # no such table: the engine will say so itself
        hash_first = sorted(schema, key=lambda part: part["KeyType"] != "HASH")
        return tuple(part["AttributeName"] for part in hash_first)

    def key_names(self, table: str) -> tuple[str, ...] | None:
        names = self._names.get(table)
        if names is None:
            names = self._describe(table)
            if names is not None:
                self._names[table] = names
        return names

    def forget(self, table: str) -> None:
        self._names.pop(table, None)


def item_key(kind: str, spec: dict[str, Any], schemas: KeySchemas) -> ItemKey | None:
    """The item a Put/Update/Delete/ConditionCheck/Get entry (or single request) names."""
    table = spec.get("TableName")
    if not isinstance(table, str):
        return None
    if kind == "Put":
        item = spec.get("Item")
        names = schemas.key_names(table)
        if not isinstance(item, dict) or names is None or any(name not in item for name in names):
            return None  # malformed: the engine rejects it
        return table, _canonical({name: item[name] for name in names})
    key = spec.get("Key")
    return (table, _canonical(key)) if isinstance(key, dict) else None


def _entry_key(entry: Any, schemas: KeySchemas) -> ItemKey | None:
    if not isinstance(entry, dict) or len(entry) != 1:
        return None
    ((kind, spec),) = entry.items()
    return item_key(kind, spec, schemas) if isinstance(spec, dict) else None


def label(key: ItemKey) -> str:
    return f"{key[0]} {key[1]}"


# --- the rule ---------------------------------------------------------------------------


@dataclass
class ProxyStats:
    """What the proxy saw since the last reset."""

    requests: Counter[str] = field(default_factory=Counter)
    transaction_conflicts: int = 0  # TransactWriteItems cancelled with TransactionConflict
    write_conflicts: int = 0  # PutItem/UpdateItem/DeleteItem refused with TransactionConflictException
    read_conflicts: int = 0  # TransactGetItems cancelled with TransactionConflict
    replays: int = 0  # TransactWriteItems resent with a committed one's token (idempotent)
    in_progress: int = 0  # TransactWriteItems resent while the first was in flight
    conflicted_items: Counter[str] = field(default_factory=Counter)  # item -> conflicts it caused
    item_writes: Counter[str] = field(default_factory=Counter)  # item -> committed writes

    @property
    def conflicts(self) -> int:
        return self.transaction_conflicts + self.write_conflicts + self.read_conflicts

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def most_written(self) -> tuple[str, int] | None:
        top = self.item_writes.most_common(1)
        return top[0] if top else None

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "transaction_conflicts": self.transaction_conflicts,
            "write_conflicts": self.write_conflicts,
            "read_conflicts": self.read_conflicts,
            "replays": self.replays,
            "in_progress": self.in_progress,
            "conflicted_items": dict(self.conflicted_items),
            "item_writes": dict(self.item_writes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProxyStats:
        return cls(
            requests=Counter(data["requests"]),
            transaction_conflicts=data["transaction_conflicts"],
            write_conflicts=data["write_conflicts"],
            read_conflicts=data["read_conflicts"],
            replays=data["replays"],
            in_progress=data["in_progress"],
            conflicted_items=Counter(data["conflicted_items"]),
            item_writes=Counter(data["item_writes"]),
        )


Forward = Callable[[], Reply]


class ConflictEngine:
    """The held items and the counters; HTTP-free, so the rule reads on its own."""

    def __init__(self, schemas: KeySchemas, service_time: float = DEFAULT_SERVICE_TIME) -> None:
        self.schemas = schemas
        self.service_time = service_time
        self._lock = threading.Lock()
        self._held: set[ItemKey] = set()
        self._tokens_in_flight: set[str] = set()
        self._committed_tokens: dict[str, float] = {}  # token -> when it committed
        self._stats = ProxyStats()
        # Tests: while set, an in-flight transaction also holds its items until this event
        # is set (the service time alone can be outlasted by a loaded machine's scheduler).
        self.release: threading.Event | None = None

    def stats(self) -> ProxyStats:
        with self._lock:
            return ProxyStats.from_json(self._stats.to_json())  # a copy: counting goes on

    def reset(self) -> None:
        with self._lock:
            self._stats = ProxyStats()

    def held(self) -> int:
        """How many items in-flight transactions hold right now."""
        with self._lock:
            return len(self._held)

    def handle(self, operation: str, body: bytes, forward: Forward) -> Reply:
        with self._lock:
            self._stats.requests[operation] += 1
        if operation == "TransactWriteItems":
            return self._transact_write(_json(body), forward)
        if operation == "TransactGetItems":
            return self._transact_get(_json(body), forward)
        if operation in _SINGLE_WRITES:
            return self._single_write(operation, _json(body), forward)
        if operation in _SCHEMA_CHANGES:
            table = _json(body).get("TableName")
            if isinstance(table, str):
                self.schemas.forget(table)
        return forward()

    def _transact_write(self, request: dict[str, Any], forward: Forward) -> Reply:
        arrived = time.monotonic()
        entries = request.get("TransactItems")
        keys = [_entry_key(entry, self.schemas) for entry in entries] if isinstance(entries, list) else []
        token = request.get("ClientRequestToken")
        token = token if isinstance(token, str) else None
        with self._lock:
            if token in self._tokens_in_flight:
                self._stats.in_progress += 1
                return Reply.error(in_progress_body())
            if (
                token is not None
                and arrived - self._committed_tokens.get(token, -IDEMPOTENCY_WINDOW) < IDEMPOTENCY_WINDOW
            ):
                self._stats.replays += 1
                replay = True
            else:
                replay = False
        if replay:
            return forward()  # changes nothing: the engine answers from its idempotency record
        with self._lock:
            clash = [key is not None and key in self._held for key in keys]
            if any(clash):
                self._stats.transaction_conflicts += 1
                self._stats.conflicted_items.update(label(k) for k, hit in zip(keys, clash, strict=True) if k and hit)
                return Reply.error(cancellation_body(clash))
            mine = {key for key in keys if key is not None}
            self._held |= mine
            if token is not None:
                self._tokens_in_flight.add(token)
        try:
            reply = forward()
            # The service time runs from arrival: a fast engine does not shorten the hold.
            remaining = arrived + self.service_time - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
            gate = self.release
            if gate is not None:
                gate.wait(timeout=60)
        finally:
            with self._lock:
                self._held -= mine
                self._tokens_in_flight.discard(token or "")
        if reply.status == 200:
            with self._lock:
                self._stats.item_writes.update(label(key) for key in mine)
                if token is not None:
                    self._remember(token, time.monotonic())
        return reply

    def _remember(self, token: str, now: float) -> None:
        """Records a committed token (lock held), forgetting those past the window."""
        if len(self._committed_tokens) >= 10_000:
            self._committed_tokens = {
                t: at for t, at in self._committed_tokens.items() if now - at < IDEMPOTENCY_WINDOW
            }
        self._committed_tokens[token] = now

    def _transact_get(self, request: dict[str, Any], forward: Forward) -> Reply:
        entries = request.get("TransactItems")
        keys = [_entry_key(entry, self.schemas) for entry in entries] if isinstance(entries, list) else []
        with self._lock:
            clash = [key is not None and key in self._held for key in keys]
            if any(clash):
                self._stats.read_conflicts += 1
                self._stats.conflicted_items.update(label(k) for k, hit in zip(keys, clash, strict=True) if k and hit)
                return Reply.error(cancellation_body(clash))
        return forward()

    def _single_write(self, operation: str, request: dict[str, Any], forward: Forward) -> Reply:
        key = item_key(operation.removesuffix("Item"), request, self.schemas)
        with self._lock:
            if key is not None and key in self._held:
                self._stats.write_conflicts += 1
                self._stats.conflicted_items[label(key)] += 1
                return Reply.error(conflict_exception_body())
        reply = forward()
        if reply.status == 200 and key is not None:
            with self._lock:
                self._stats.item_writes[label(key)] += 1
        return reply


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}  # the engine answers the malformed request itself
    return parsed if isinstance(parsed, dict) else {}


# --- HTTP -------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # 64 clients connecting at once must not overflow the backlog

    def __init__(self, address: tuple[str, int], engine: ConflictEngine, target: str) -> None:
        self.engine = engine
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"target must be an http:// URL, got {target!r}")
        self.target_host = parts.hostname
        self.target_port = parts.port or 80
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client hung up (or stop() closed it): nothing to report
        super().handle_error(request, client_address)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (a reverse DNS lookup); loopback needs none.
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore pools its connections
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self._upstream: http.client.HTTPConnection | None = None
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        if self._upstream is not None:
            self._upstream.close()
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the test output

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith(CONTROL_PREFIX):
            self._send(self._control(self.path[len(CONTROL_PREFIX) :]))
            return
        target = self.headers.get("X-Amz-Target", "")
        operation = target.rpartition(".")[2] or f"{self.command} {self.path}"
        self._send(self.server.engine.handle(operation, body, lambda: self._forward(body)))

    def _control(self, command: str) -> Reply:
        engine = self.server.engine
        if command == "stats":
            payload: dict[str, Any] = {**engine.stats().to_json(), "held": engine.held()}
        elif command == "reset" and self.command == "POST":
            engine.reset()
            payload = {"reset": True}
        else:
            return Reply(404, [("Content-Type", "application/json")], b'{"error":"unknown control command"}')
        return Reply(200, [("Content-Type", "application/json")], json.dumps(payload).encode())

    def _forward(self, body: bytes) -> Reply:
        headers = [(name, value) for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP]
        for attempt in range(2):
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(self.server.target_host, self.server.target_port)
            try:
                self._upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    self._upstream.putheader(name, value)
                self._upstream.putheader("Content-Length", str(len(body)))
                self._upstream.endheaders(body)  # headers and body leave in one send
                response = self._upstream.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                self._upstream.close()
                self._upstream = None
                # The engine closed an idle kept-alive connection: the request never
                # reached it, so sending it again on a fresh one is safe. Once only.
                if attempt == 0 and isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError)):
                    continue
                return Reply.error({"__type": _ERROR_TYPE.format("InternalServerError"), "Message": str(exc)}, 500)
            kept = [(name, value) for name, value in response.getheaders() if name.lower() not in _HOP_BY_HOP]
            if response.will_close:
                self._upstream.close()
                self._upstream = None
            return Reply(response.status, kept, data)
        raise AssertionError("unreachable")

    def _send(self, reply: Reply) -> None:
        lines = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        lines.append(f"Content-Length: {len(reply.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + reply.body)  # one write: no Nagle / delayed-ACK stall


# --- running it ----------------------------------------------------------------------------


class ConflictProxy:
    """The proxy in this process (a thread per client connection); a context manager.

    `endpoint` is what AWS_ENDPOINT_URL_DYNAMODB points at; port 0 picks a free one.
    """

    def __init__(self, target: str, *, service_time: float = DEFAULT_SERVICE_TIME, port: int = 0) -> None:
        self.target = target.rstrip("/")
        self.engine = ConflictEngine(KeySchemas(self.target), service_time)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the conflict proxy is not started")
        return f"http://{HOST}:{self._server.server_port}"

    @property
    def service_time(self) -> float:
        return self.engine.service_time

    def stats(self) -> ProxyStats:
        return self.engine.stats()

    def reset(self) -> None:
        self.engine.reset()

    def held(self) -> int:
        return self.engine.held()

    def start(self) -> Self:
        self._server = _Server((HOST, self._port), self.engine, self.target)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="conflict-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        # Kept-alive client connections would otherwise keep their threads reading.
        with server.connections_lock:
            for connection in list(server.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class ConflictProxyProcess:
    """The proxy in a process of its own (`python -m scripts.local.conflict_proxy`), so it
    does not share the interpreter lock with the client it measures; same reading API."""

    def __init__(self, target: str, *, service_time: float = DEFAULT_SERVICE_TIME) -> None:
        self.target = target.rstrip("/")
        self.service_time = service_time
        self._proc: subprocess.Popen[str] | None = None
        self.endpoint = ""

    def start(self) -> Self:
        command = [sys.executable, "-m", "scripts.local.conflict_proxy", "--target", self.target, "--port", "0"]
        command += ["--service-ms", str(self.service_time * 1000)]
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        stdout: IO[str] | None = self._proc.stdout
        assert stdout is not None
        first = stdout.readline()  # "conflict proxy on http://127.0.0.1:PORT -> ..."
        if not first.startswith("conflict proxy on "):
            self.stop()
            raise RuntimeError(f"the conflict proxy did not start: {first!r}")
        self.endpoint = first.split()[3]
        return self

    def _call(self, method: str, command: str) -> dict[str, Any]:
        parts = urlsplit(self.endpoint)
        connection = http.client.HTTPConnection(parts.hostname or HOST, parts.port, timeout=10)
        try:
            connection.request(method, CONTROL_PREFIX + command, body=b"" if method == "POST" else None)
            response = connection.getresponse()
            return dict(json.loads(response.read()))
        finally:
            connection.close()

    def stats(self) -> ProxyStats:
        return ProxyStats.from_json(self._call("GET", "stats"))

    def reset(self) -> None:
        self._call("POST", "reset")

    def held(self) -> int:
        return int(self._call("GET", "stats")["held"])

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def conflict_proxy(
    target: str, *, service_time: float = DEFAULT_SERVICE_TIME, own_process: bool = False
) -> Iterator[ConflictProxy | ConflictProxyProcess]:
    """Either kind of proxy, started and stopped around the block."""
    proxy: ConflictProxy | ConflictProxyProcess = (
        ConflictProxyProcess(target, service_time=service_time)
        if own_process
        else ConflictProxy(target, service_time=service_time)
    )
    with proxy:
        yield proxy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, help="DynamoDB Local's endpoint, e.g. http://127.0.0.1:8001")
    parser.add_argument("--port", type=int, default=0, help="loopback port to listen on (0: pick a free one)")
    parser.add_argument(
        "--service-ms", type=float, default=DEFAULT_SERVICE_TIME * 1000, help="how long a transaction holds its items"
    )
    args = parser.parse_args(argv)
    proxy = ConflictProxy(args.target, service_time=args.service_ms / 1000, port=args.port).start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"conflict proxy on {proxy.endpoint} -> {proxy.target} (hold {args.service_ms:g} ms)", flush=True)
    while not stop.wait(0.5):
        pass
    proxy.stop()


if __name__ == "__main__":
    main()
