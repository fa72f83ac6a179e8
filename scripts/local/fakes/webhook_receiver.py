"""A webhook receiver on loopback, as a subscriber would run one: checks signatures, records deliveries.

Real HTTP on 127.0.0.1 (an ephemeral port, one thread per request); a
context manager. With a `secret` it verifies each delivery's signature
header with `webhook_signing.verify` (a bad or stale one is answered 400
and recorded as unverified); without one it only records (e.g. Telegram
updates, whose secret travels in `X-Telegram-Bot-Api-Secret-Token`).
`fail_next(n)` answers the next n requests 500 (or another status), as a
subscriber having a bad moment.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.channels.webhook_signing import EVENT_ID_HEADER, SIGNATURE_HEADER, InvalidSignature, verify
from scripts.local.fakes.loopback import LoopbackServer

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

__all__ = ["Delivery", "WebhookReceiver"]


@dataclass(frozen=True)
class Delivery:
    """One request as received, with what the receiver made of it."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None  # None: no secret to check against
    rejection: str | None  # why the signature was refused
    status: int  # what the receiver answered
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str | None:
        return self.header(EVENT_ID_HEADER)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)


class WebhookReceiver(LoopbackServer):
    """Records every POST; answers 200 to a good one, 400 to a badly signed one, or a scripted failure."""

    def __init__(self, secret: str | None = None, *, tolerance: int = 300) -> None:
        super().__init__()
        self.secret = secret
        self.tolerance = tolerance
        self._lock = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._scripted: deque[int] = deque()

    METHODS = ("POST",)
    THREAD_NAME = "webhook-receiver"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        self._receive(request)

    @property
    def url(self) -> str:
        """The receiver's base URL; any path under it is accepted (and recorded)."""
        return f"{self.origin}/hook"

    def fail_next(self, times: int = 1, *, status: int = 500) -> None:
        with self._lock:
            self._scripted.extend([status] * times)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def accepted(self) -> list[Delivery]:
        """Deliveries answered 2xx."""
        return [delivery for delivery in self.deliveries if 200 <= delivery.status < 300]

    def accepted_event_ids(self) -> list[str | None]:
        return [delivery.event_id for delivery in self.accepted]

    def wait_for(self, count: int, *, timeout: float = 5.0) -> list[Delivery]:
        """Blocks until `count` requests arrived (or `timeout`); answers them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._deliveries) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            return list(self._deliveries)

    def _receive(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        headers = {key: value for key, value in request.headers.items()}
        verified: bool | None = None
        rejection: str | None = None
        if self.secret is not None:
            try:
                verify(self.secret, request.headers.get(SIGNATURE_HEADER), body, time.time(), self.tolerance)
                verified = True
            except InvalidSignature as error:
                verified, rejection = False, f"{type(error).__name__}: {error}"
        with self._lock:
            if verified is False:
                status = 400
            elif self._scripted:
                status = self._scripted.popleft()
            else:
                status = 200
            self._deliveries.append(Delivery(request.path, headers, body, verified, rejection, status, time.time()))
            self._lock.notify_all()
        answer = json.dumps({"received": 200 <= status < 300}).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(answer)))
        request.end_headers()
        request.wfile.write(answer)
