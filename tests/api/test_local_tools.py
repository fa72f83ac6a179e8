"""The local tools find the running stack themselves: `make reassign`/`audit`/`rescore`/`train`,
`make token` and `make invite` read the state file `make run` writes (its ports, its pid, its
keys), refuse clearly when no stack of this checkout runs, and refuse bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING, Any

import jwt
import pytest

from scripts.local import stack_state
from scripts.local.dynamodb_local import REPO_ROOT, free_port
from scripts.local.ephemeral_stack import RunningStack, ephemeral_stack

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from scripts.local.dev_auth import DevKeys


def tool_env(state_file: Path, **extra: str) -> dict[str, str]:
    """A developer's shell: no endpoint named, the tools must find the stack."""
    env = {**os.environ, "LEADCRM_STACK_FILE": str(state_file), "PYTHONUNBUFFERED": "1", **extra}
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "ROLE", "OPERATOR_ID", "EMAIL", "NAME"):
        if name not in extra:
            env.pop(name, None)
    return env


def tool(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def get(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        body: dict[str, Any] = json.loads(reply.read())
        return body


# --- without a stack ----------------------------------------------------------------


def test_GIVEN_no_state_file_WHEN_a_job_runs_THEN_it_says_no_stack_runs_and_exits_1(tmp_path: Path) -> None:
    result = tool(tool_env(tmp_path / "stack.json"), "scripts.local.run_job", "audit")

    assert result.returncode == 1
    assert "no local stack of this checkout is running" in result.stderr and "make run" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_GIVEN_a_state_file_of_a_dead_stack_WHEN_a_job_runs_THEN_it_refuses_instead_of_using_its_ports(
    tmp_path: Path,
) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = stack_state.StackState(
        pid=int(finished.stdout),
        api_url="http://127.0.0.1:1",
        dynamodb_endpoint="http://127.0.0.1:1",
        sqs_endpoint="http://127.0.0.1:1",
        intake_queue_url="http://127.0.0.1:1/queue",
        table_prefix="leadcrm-dev",
        started_at=0.0,
    )
    (tmp_path / "stack.json").write_text(json.dumps(dead.__dict__))

    result = tool(tool_env(tmp_path / "stack.json"), "scripts.local.run_job", "reassign")

    assert result.returncode == 1
    assert f"(pid {dead.pid}) is no longer running" in result.stderr


def test_GIVEN_a_live_process_that_is_no_stack_WHEN_checked_THEN_it_does_not_count_as_one() -> None:
    # This pytest process is alive, but it is not `scripts.local.local_stack` (a reused pid).
    assert stack_state.alive(os.getpid()) is False


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--role", "boss"], {}, "unknown role 'boss'"),
        ([], {"ROLE": "Operator"}, "unknown role 'Operator'"),
        ([], {"ROLE": "admin", "OPERATOR_ID": "op_x"}, "OPERATOR_ID goes with ROLE=operator"),
        (["--role", "operator"], {}, "needs OPERATOR_ID"),
    ],
)
def test_GIVEN_a_bad_role_WHEN_make_token_THEN_exit_2_with_the_reason_and_no_token(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = tool(tool_env(tmp_path / "stack.json", **env), "scripts.local.dev_auth", *args)

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "EMAIL is required"),
        ({"EMAIL": "not-an-address"}, "is not an e-mail address"),
        ({"EMAIL": "anna@example.com", "ROLE": "boss"}, "ROLE must be one of operator, admin"),
    ],
)
def test_GIVEN_bad_input_WHEN_make_invite_THEN_exit_2_before_touching_any_stack(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = tool(tool_env(tmp_path / "stack.json", **env), "scripts.local.invite")

    assert result.returncode == 2
    assert message in result.stderr


def test_GIVEN_no_stack_WHEN_make_invite_THEN_exit_1_saying_so(tmp_path: Path) -> None:
    result = tool(tool_env(tmp_path / "stack.json", EMAIL="anna@example.com"), "scripts.local.invite")

    assert result.returncode == 1
    assert "no local stack of this checkout is running" in result.stderr


# --- with a running stack on random ports ----------------------------------------------


@pytest.fixture(scope="module")
def running(dev_keys: DevKeys) -> Iterator[tuple[RunningStack, Path]]:
    with ephemeral_stack(dev_keys) as stack:
        yield stack, stack.log.parent / "stack.json"


def test_GIVEN_a_stack_on_random_ports_WHEN_reading_its_state_THEN_it_names_them_and_its_pid(
    running: tuple[RunningStack, Path],
) -> None:
    stack, state_file = running
    state = json.loads(state_file.read_text())

    assert state["api_url"] == stack.base_url
    assert stack_state.alive(state["pid"])
    assert state["table_prefix"] == "leadcrm-dev"


@pytest.mark.parametrize("job", ["audit", "reassign"])
def test_GIVEN_a_stack_on_random_ports_WHEN_a_job_runs_without_any_port_given_THEN_it_runs_on_that_stack(
    running: tuple[RunningStack, Path], job: str
) -> None:
    _, state_file = running

    result = tool(tool_env(state_file), "scripts.local.run_job", job)

    assert result.returncode == 0, result.stderr
    # The job's log lines, then its report (indented JSON) last.
    report = result.stdout[result.stdout.index("\n{\n") + 1 :]
    assert isinstance(json.loads(report), dict)


def test_GIVEN_a_stack_WHEN_make_invite_an_operator_THEN_it_is_created_bound_and_its_printed_token_signs_in(
    running: tuple[RunningStack, Path],
) -> None:
    stack, state_file = running

    result = tool(tool_env(state_file, EMAIL="vera@example.com", ROLE="operator", NAME="Vera"), "scripts.local.invite")

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    me = get(f"{stack.base_url}/me", token)
    assert me["operator"]["name"] == "Vera"
    assert me["operator"]["auth_subject"] == jwt.decode(token, options={"verify_signature": False})["sub"]
    assert "vera@example.com" not in stack.log.read_text()
    # `make token` for that operator keeps the invited login rather than rebinding it.
    again = tool(
        tool_env(state_file), "scripts.local.dev_auth", "--role", "operator", "--operator-id", me["operator"]["id"]
    )
    assert again.returncode == 0, again.stderr
    assert (
        jwt.decode(again.stdout.strip(), options={"verify_signature": False})["sub"] == me["operator"]["auth_subject"]
    )


def test_GIVEN_a_stack_WHEN_make_invite_an_admin_THEN_no_operator_and_an_admin_token(
    running: tuple[RunningStack, Path],
) -> None:
    stack, state_file = running

    result = tool(tool_env(state_file, EMAIL="head@example.com", ROLE="admin"), "scripts.local.invite")

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert get(f"{stack.base_url}/me", token)["role"] == "admin"


def test_GIVEN_a_stack_WHEN_make_token_for_an_unknown_operator_THEN_exit_1_and_no_token(
    running: tuple[RunningStack, Path],
) -> None:
    _, state_file = running

    result = tool(
        tool_env(state_file), "scripts.local.dev_auth", "--role", "operator", "--operator-id", "op_nobody0000"
    )

    assert result.returncode == 1
    assert "no operator 'op_nobody0000'" in result.stderr and result.stdout == ""


def test_GIVEN_a_running_stack_WHEN_a_second_starts_from_the_same_checkout_THEN_it_refuses(
    running: tuple[RunningStack, Path],
) -> None:
    stack, state_file = running
    env = tool_env(state_file, PORT=str(free_port()), SQS_PORT=str(free_port()), DYNAMODB_PORT=str(free_port()))
    env.update(stack.keys.environment())

    result = tool(env, "scripts.local.local_stack")

    assert result.returncode == 1
    assert "already runs" in result.stderr and stack.base_url in result.stderr
    assert json.loads(state_file.read_text())["api_url"] == stack.base_url


def docs_queue_script() -> str:
    """The Python the SQS example in docs/api.md runs, as a reader would paste it."""
    text = (REPO_ROOT / "docs" / "api.md").read_text()
    start = text.index("<<'PY'\n") + len("<<'PY'\n")
    return text[start : text.index("\nPY\n", start)]


def call(stack: RunningStack, method: str, path: str, body: Any = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{stack.base_url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {stack.keys.token('admin')}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        answer: dict[str, Any] = json.loads(reply.read())
        return answer


def test_GIVEN_the_docs_sqs_example_WHEN_run_against_a_stack_on_random_ports_THEN_the_lead_and_appeal_appear(
    running: tuple[RunningStack, Path],
) -> None:
    stack, state_file = running
    source = call(stack, "POST", "/sources", {"name": "WhatsApp bot"})
    key = call(stack, "POST", f"/sources/{source['id']}/keys", {})["api_key"]

    sent = subprocess.run(
        [sys.executable, "-", source["id"], key],
        input=docs_queue_script(),
        cwd=REPO_ROOT,
        env=tool_env(state_file),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert sent.returncode == 0, sent.stderr
    assert json.loads(state_file.read_text())["intake_queue_url"] in sent.stdout
    deadline = time.monotonic() + 30
    leads: list[dict[str, Any]] = []
    while not leads and time.monotonic() < deadline:
        leads = call(stack, "GET", "/leads?external_id=wa:79990001122")["items"]
        time.sleep(0.2)
    assert leads, "the queued message never became a lead"
    appeals = call(stack, "GET", f"/leads/{leads[0]['id']}/appeals")["items"]
    assert [appeal["source_id"] for appeal in appeals] == [source["id"]]
