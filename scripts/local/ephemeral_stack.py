"""`make run`'s stack on free ports, its data in memory, as a context manager.

The console's browser tests and its benchmark need the real thing a newcomer
gets from `make run` (the API and the console from `chalice local`, DynamoDB,
SQS, the poller and the scheduler), but never the developer's `.data/`, never
their ports, and never in the test process's own environment (the moto tests
share it). So `scripts.local.local_stack` runs as a child process with:

  - DynamoDB Local in memory, started here (without Java: local_stack's own
    fallback, moto's server in memory);
  - SQS, the API and DynamoDB on free loopback ports;
  - the caller's dev key pair, so the caller can mint the tokens it needs;
  - whatever else the caller adds (`environment`), e.g. the console's Cognito settings.

Leaving the block stops the stack (SIGTERM to its process group) and the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.local.dynamodb_local import (
    HOST,
    REPO_ROOT,
    DynamoDBLocal,
    find_jar,
    free_port,
    java_available,
    terminate_group,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from scripts.local.dev_auth import DevKeys

READY_LINE = "leadcrm local stack is up"


class StackFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class RunningStack:
    base_url: str
    keys: DevKeys
    log: Path

    @property
    def console_url(self) -> str:
        return f"{self.base_url}/console/"

    def token(self, role: str = "admin", operator_id: str | None = None, **claims: object) -> str:
        """A dev token; an operator's `sub` is first bound to it through the admin API, as in AWS."""
        if role == "operator" and operator_id and "subject" not in claims:
            claims["subject"] = self.bind(operator_id)
        return self.keys.token(role, operator_id, **claims)

    def bind(self, operator_id: str, subject: str | None = None) -> str:
        """PATCH /operators/{id} {auth_subject}: the server-side binding an operator token needs."""
        subject = subject or f"dev-operator-{operator_id}"
        request = urllib.request.Request(
            f"{self.base_url}/operators/{operator_id}",
            data=json.dumps({"auth_subject": subject}).encode(),
            method="PATCH",
            headers={"Authorization": f"Bearer {self.keys.token('admin')}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            if reply.status != 200:
                raise StackFailed(f"binding operator {operator_id} answered {reply.status}")
        return subject


def _wait_until_up(proc: subprocess.Popen[bytes], log: Path, base_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackFailed(f"the local stack exited with code {proc.returncode}:\n{_tail(log)}")
        if READY_LINE in log.read_text(errors="replace"):
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(f"{base_url}/health", timeout=2) as reply,
            ):
                if reply.status == 200:
                    return
        time.sleep(0.25)
    raise StackFailed(f"the local stack was not up within {timeout:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def ephemeral_stack(
    keys: DevKeys, environment: Mapping[str, str] | None = None, *, startup_timeout: float = 120.0
) -> Iterator[RunningStack]:
    with contextlib.ExitStack() as cleanup:
        api_port, sqs_port, db_port = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            **keys.environment(),
            "PORT": str(api_port),
            "SQS_PORT": str(sqs_port),
            "DYNAMODB_PORT": str(db_port),
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONUNBUFFERED": "1",
            **(environment or {}),
        }
        for inherited in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            env.pop(inherited, None)
        if java_available() and find_jar(REPO_ROOT) is not None:
            database = cleanup.enter_context(DynamoDBLocal())
            env["AWS_ENDPOINT_URL_DYNAMODB"] = database.endpoint
        else:
            # local_stack then says so loudly and keeps the data in moto's server, in memory.
            env["LEADCRM_NO_JAVA"] = "1"
        log_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="leadcrm-stack-")))
        log = log_dir / "stack.log"
        output = cleanup.enter_context(log.open("wb"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "scripts.local.local_stack"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        cleanup.callback(terminate_group, proc, 30.0)
        base_url = f"http://{HOST}:{api_port}"
        _wait_until_up(proc, log, base_url, startup_timeout)
        yield RunningStack(base_url=base_url, keys=keys, log=log)
