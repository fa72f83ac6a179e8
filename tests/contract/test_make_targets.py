"""What `make` runs, read from `make -n` (prints the recipes, runs none of them)."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from scripts.local.dynamodb_local import REPO_ROOT
from scripts.packaging.package import main as package_main
from scripts.packaging.package import set_stage

if TYPE_CHECKING:
    from pathlib import Path

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


def test_GIVEN_make_package_with_a_stage_WHEN_reading_its_recipe_THEN_the_stage_reaches_the_packager() -> None:
    (line,) = [line for line in recipe("package", "STAGE=staging") if "scripts.packaging.package" in line]
    (plain,) = [line for line in recipe("package") if "scripts.packaging.package" in line]

    assert line.endswith("--stage staging")
    assert "--stage" not in plain


def test_GIVEN_a_built_template_WHEN_a_stage_is_set_THEN_it_becomes_the_default_stage(tmp_path: Path) -> None:
    template = tmp_path / "sam.json"
    template.write_text(json.dumps({"Parameters": {"Stage": {"Type": "String", "Default": "prod"}}}))

    set_stage(template, "staging")

    assert json.loads(template.read_text())["Parameters"]["Stage"] == {"Type": "String", "Default": "staging"}


@pytest.mark.parametrize("stage", ["Staging", "stage-2", "", "1prod", "averyveryverylongstage"])
def test_GIVEN_a_bad_stage_WHEN_packaging_THEN_exit_2_before_building(
    stage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = package_main([str(tmp_path / "out"), "--stage", stage])

    assert code == 2
    assert "lower-case letter" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
