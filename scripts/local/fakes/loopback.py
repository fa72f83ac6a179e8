"""The lifecycle every fake server shares: a threaded HTTP server on 127.0.0.1, an ephemeral port, clean stop."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["LoopbackServer"]


class LoopbackServer:
    """Subclasses answer `handle(request)` for the methods in `METHODS`."""

    METHODS: tuple[str, ...] = ("POST",)
    THREAD_NAME = "fake-server"

    def __init__(self, port: int = 0) -> None:
        self._port = port  # 0: an ephemeral port (tests); a fixed one for a sandbox a person talks to
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        owner = self

        def serve(request: BaseHTTPRequestHandler) -> None:
            owner.handle(request)

        def quiet(_request: BaseHTTPRequestHandler, format: str, *args: Any) -> None:
            pass  # tests read what was received, not the server's log

        handlers: dict[str, Any] = {f"do_{method}": serve for method in self.METHODS}
        handler = type("Handler", (BaseHTTPRequestHandler,), {**handlers, "log_message": quiet})
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.THREAD_NAME, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"
