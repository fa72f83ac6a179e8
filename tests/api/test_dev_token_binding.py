"""`make token ROLE=operator OPERATOR_ID=…` binds the token's `sub` to that operator
on the local stack, and refuses an operator that does not exist."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import jwt
import pytest
from moto.server import ThreadedMotoServer

from scripts.local.dynamodb_local import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator

SETUP = """
from scripts.local.local_stack import prepare_environment
prepare_environment()
from chalicelib.models import create_tables, Operator
create_tables()
from chalicelib.directory.operators import create_operator
from chalicelib.schemas.operators import OperatorCreate
print(create_operator(OperatorCreate(name="Anna")).id)
"""
BOUND = """
import sys
from scripts.local.local_stack import prepare_environment
prepare_environment()
from chalicelib.models.operators import operator_signed_in_as
print(operator_signed_in_as(sys.argv[1]).operator_id)
"""


@pytest.fixture
def stack_env() -> Iterator[dict[str, str]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    try:
        yield env
    finally:
        server.stop()


def python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_GIVEN_the_local_stack_WHEN_make_token_for_an_operator_THEN_its_sub_is_bound_and_a_stranger_is_refused(
    stack_env: dict[str, str],
) -> None:
    operator_id = python(stack_env, "-c", SETUP).stdout.strip()

    made = python(stack_env, "-m", "scripts.local.dev_auth", "--role", "operator", "--operator-id", operator_id)
    subject = jwt.decode(made.stdout.strip(), options={"verify_signature": False})["sub"]
    unknown = python(stack_env, "-m", "scripts.local.dev_auth", "--role", "operator", "--operator-id", "op_nobody0000")

    assert made.returncode == 0, made.stderr
    assert made.stdout.count("\n") == 1  # the token alone: `$(make -s token)` takes all of it
    assert python(stack_env, "-c", BOUND, subject).stdout.strip() == operator_id
    assert unknown.returncode == 1 and "no operator" in unknown.stderr and unknown.stdout == ""
