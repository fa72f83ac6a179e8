"""The local stack's scheduler runs the scheduled jobs as their Lambda schedules would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest
from pydantic import BaseModel

from chalicelib.jobs import Job
from scripts.local import run_job
from scripts.local.dynamodb_local import REPO_ROOT
from scripts.local.local_stack import Scheduler

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

MINUTE = 0.05  # seconds per scheduler "minute" in these tests
EPSILON = 0.001  # timer rounding


class FakeReport(BaseModel):
    run: int


class Recorder:
    """Fake job bodies that note when they ran."""

    def __init__(self) -> None:
        self.runs: dict[str, list[float]] = {}

    def job(self, name: str, every_minutes: int, fail: bool = False) -> Job:
        self.runs[name] = []

        def run() -> FakeReport:
            self.runs[name].append(time.monotonic())
            if fail:
                raise RuntimeError("boom")
            return FakeReport(run=len(self.runs[name]))

        return Job(name, every_minutes, run)

    def wait_for(self, enough: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not enough():
            assert time.monotonic() < deadline, f"timed out; runs so far: { {k: len(v) for k, v in self.runs.items()} }"
            time.sleep(0.01)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def started() -> Iterator[list[Scheduler]]:
    schedulers: list[Scheduler] = []
    yield schedulers
    for scheduler in schedulers:
        scheduler.stop()


def scheduler_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("scheduler-")]


def test_GIVEN_jobs_on_two_rates_WHEN_started_THEN_each_runs_repeatedly_on_its_interval_first_one_interval_after_start(
    recorder: Recorder, lines: list[str], started: list[Scheduler]
) -> None:
    scheduler = Scheduler([recorder.job("fast", 1), recorder.job("slow", 4)], minute_seconds=MINUTE, log=lines.append)
    started.append(scheduler)
    began = time.monotonic()

    scheduler.start()
    recorder.wait_for(lambda: len(recorder.runs["slow"]) >= 2)
    scheduler.stop()

    fast, slow = recorder.runs["fast"], recorder.runs["slow"]
    # The n-th run comes no earlier than the n-th tick (the first one interval in).
    assert all(at - began >= n * MINUTE - EPSILON for n, at in enumerate(fast, start=1))
    assert all(at - began >= n * 4 * MINUTE - EPSILON for n, at in enumerate(slow, start=1))
    # Two slow ticks take eight fast ones; allow for a loaded machine skipping some.
    assert len(fast) >= 4 and len(fast) > 2 * len(slow)
    assert scheduler.failure() is None
    assert any(line.startswith("slow done in ") and line.endswith(': {"run":2}') for line in lines)


def test_GIVEN_a_job_that_raises_WHEN_scheduled_THEN_it_is_logged_retried_next_tick_and_others_keep_running(
    recorder: Recorder, lines: list[str], started: list[Scheduler]
) -> None:
    scheduler = Scheduler(
        [recorder.job("broken", 1, fail=True), recorder.job("healthy", 1)], minute_seconds=MINUTE, log=lines.append
    )
    started.append(scheduler)

    scheduler.start()
    recorder.wait_for(lambda: len(recorder.runs["broken"]) >= 3 and len(recorder.runs["healthy"]) >= 3)

    assert scheduler.failure() is None
    assert all(thread.is_alive() for thread in scheduler_threads())
    failures = [line for line in lines if line.startswith("broken ")]
    assert len(failures) >= 3
    assert all(" FAILED after " in line and line.endswith(": RuntimeError: boom") for line in failures)
    assert not any("Traceback" in line for line in lines)


def test_GIVEN_a_job_an_hour_away_WHEN_stopped_THEN_stop_returns_promptly_and_no_thread_is_left(
    recorder: Recorder, lines: list[str]
) -> None:
    scheduler = Scheduler([recorder.job("hourly", 60), recorder.job("daily", 1440)], log=lines.append)
    scheduler.start()
    assert len(scheduler_threads()) == 2

    began = time.monotonic()
    scheduler.stop()

    assert time.monotonic() - began < 1.0
    assert scheduler_threads() == []
    assert recorder.runs == {"hourly": [], "daily": []} and lines == []
    scheduler.stop()  # idempotent


def test_GIVEN_a_scheduler_never_started_WHEN_stopped_THEN_nothing_happens() -> None:
    scheduler = Scheduler([], log=lambda line: None)

    scheduler.stop()

    assert scheduler.failure() is None


def test_GIVEN_the_jobs_WHEN_described_THEN_the_banner_lists_each_rate(recorder: Recorder) -> None:
    scheduler = Scheduler([recorder.job("reassign", 1), recorder.job("audit", 15)])

    assert scheduler.describe() == "Scheduler  schedules: reassign every 1 min, audit every 15 min"


def test_GIVEN_an_unknown_job_name_WHEN_run_job_THEN_usage_with_the_known_names_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_job.main(["nope"])

    err = capsys.readouterr().err
    assert code == 2
    assert "usage: python -m scripts.local.run_job NAME" in err and "reassign" in err and "audit" in err


def test_GIVEN_no_local_stack_WHEN_run_job_THEN_it_says_to_start_make_run_and_exits_1_without_a_traceback() -> None:
    # A port we hold bound but never listen on: connecting is refused, and no other
    # process (a parallel worker's DynamoDB Local) can take it while the job runs.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as nobody:
        nobody.bind(("127.0.0.1", 0))
        env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{nobody.getsockname()[1]}"}

        result = subprocess.run(
            [sys.executable, "-m", "scripts.local.run_job", "reassign"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 1
    assert "make run" in result.stderr and "not reachable" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
