"""Where this checkout's running `make run` stack is, so the tools find it themselves.

`make run` writes `.data/stack.json` (its pid, the API's URL, the DynamoDB and SQS
endpoints, the table prefix) once everything is up, and removes it when it stops.
`make reassign`, `audit`, `rescore`, `train`, `token` and `invite` read it: they use
exactly that stack's ports, whatever ports it was started on, or refuse when no
stack of this checkout runs (no file, or its process is gone) rather than
silently use whatever else listens on a default port.

LEADCRM_STACK_FILE names another file (the test stacks keep theirs apart).
An explicit AWS_ENDPOINT_URL_DYNAMODB still wins for the jobs: that is a choice,
not a guess.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from scripts.local.dynamodb_local import REPO_ROOT

__all__ = ["NoStack", "StackState", "clear", "endpoint_for_tools", "read", "running_stack", "state_file", "write"]

DEFAULT_FILE = REPO_ROOT / ".data" / "stack.json"
START_FIRST = "start it with `make run` (in another terminal)"


class NoStack(Exception):
    """No stack of this checkout runs; the message says why and what to do."""


@dataclass(frozen=True)
class StackState:
    pid: int
    api_url: str
    dynamodb_endpoint: str
    sqs_endpoint: str
    intake_queue_url: str
    table_prefix: str
    started_at: float
    # The dev issuer's public keys the API trusts (their private half beside them), when it uses the dev issuer.
    jwks_file: str | None = None


def state_file() -> Path:
    return Path(os.environ.get("LEADCRM_STACK_FILE") or DEFAULT_FILE)


def write(state: StackState) -> Path:
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole, then renamed: a reader never sees half a file.
    scratch = path.with_name(f".{path.name}.{state.pid}")
    scratch.write_text(json.dumps(asdict(state), indent=2) + "\n")
    scratch.replace(path)
    return path


def clear(pid: int) -> None:
    """Removes the file if it is this process's (a newer stack's file stays)."""
    current = read()
    if current is not None and current.pid == pid:
        state_file().unlink(missing_ok=True)


def read() -> StackState | None:
    try:
        raw = json.loads(state_file().read_text())
        return StackState(**raw)
    except (OSError, ValueError, TypeError):
        return None


def alive(pid: int) -> bool:
    """Whether `pid` is still a local stack (not a process that reused the number)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            return b"scripts.local.local_stack" in cmdline.read_bytes()
        except OSError:
            return False
    return True


def running_stack() -> StackState:
    path = state_file()
    state = read()
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    if state is None:
        raise NoStack(f"no local stack of this checkout is running (no {shown}): {START_FIRST}")
    if not alive(state.pid):
        raise NoStack(f"the local stack recorded in {shown} (pid {state.pid}) is no longer running: {START_FIRST}")
    return state


def endpoint_for_tools() -> tuple[str, str]:
    """(DynamoDB endpoint, table prefix) a tool works on: the explicit AWS_ENDPOINT_URL_DYNAMODB, else the
    running stack's. Raises NoStack."""
    explicit = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    if explicit:
        return explicit, os.environ["TABLE_PREFIX"]
    state = running_stack()
    return state.dynamodb_endpoint, state.table_prefix
