"""What `make` runs, read from `make -n` (prints the recipes, runs none of them)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from scripts.local.dynamodb_local import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def recipe(*args: str) -> list[str]:
    result = subprocess.run(
        ["make", "-n", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.splitlines()


def test_GIVEN_make_test_WHEN_reading_its_recipe_THEN_pytest_runs_on_every_cpu() -> None:
    (pytest_line,) = [line for line in recipe("test") if "-m pytest" in line]

    assert "-n auto" in pytest_line


@pytest.mark.parametrize("job", ["reassign", "audit", "rescore", "train"])
def test_GIVEN_a_job_target_WHEN_reading_its_recipe_THEN_no_port_is_passed_the_tool_finds_the_stack(job: str) -> None:
    (line,) = [line for line in recipe(job) if "scripts.local.run_job" in line]

    assert line.endswith(f"-m scripts.local.run_job {job}")
    assert "PORT" not in line


def test_GIVEN_make_invite_WHEN_reading_its_recipe_THEN_email_role_and_name_reach_the_script() -> None:
    (line,) = [
        line for line in recipe("invite", "EMAIL=anna@example.com", "ROLE=admin") if "scripts.local.invite" in line
    ]

    assert "EMAIL=anna@example.com" in line and "ROLE=admin" in line
