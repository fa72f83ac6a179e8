"""The offline backtest command: `python -m chalicelib.scoring.backtest FILE.csv --label COLUMN`."""

from __future__ import annotations

import csv
import math
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.scoring.backtest import main

if TYPE_CHECKING:
    import pytest

REPO = Path(__file__).resolve().parents[2]
HEADER = ["lead_id", "source", "business_domain", "message_count", "appeals_count", "days_since_created", "converted"]


def write_leads_csv(
    path: Path,
    n: int = 1500,
    *,
    seed: int = 1,
    yes: str = "yes",
    no: str = "no",
    blank_labels: int = 0,
    encoding: str = "utf-8",
) -> Path:
    """A CRM export with a learnable outcome: message count and source push
    it, domains are skewed with a rare tail and blanks, and the first
    `blank_labels` rows have no outcome yet."""
    rng = random.Random(seed)
    source_effect = {f"src_{letter}": rng.gauss(0.0, 1.0) for letter in "abcdef"}
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(n):
            source = rng.choice(sorted(source_effect))
            domain = "" if rng.random() < 0.1 else f"domain_{min(int(rng.expovariate(0.2)), 25)}"
            messages = rng.randrange(0, 20)
            appeals = rng.randrange(0, 4)
            days = round(rng.expovariate(0.1), 2)
            logit = -1.2 + source_effect[source] + 0.15 * messages - 0.4 * appeals - 0.03 * days
            outcome = yes if rng.random() < 1 / (1 + math.exp(-logit)) else no
            writer.writerow(
                [
                    f"lead-{i}",
                    source,
                    domain,
                    "" if rng.random() < 0.05 else messages,
                    appeals,
                    days,
                    "" if i < blank_labels else outcome,
                ]
            )
    return path


def metric(output: str, name: str) -> tuple[float, float]:
    """(model, baseline) from a metrics line such as `  ROC AUC   0.8123   0.5000`."""
    found = re.search(rf"^\s*{name}\s+([0-9.]+)\s+([0-9.]+)\s*$", output, re.MULTILINE)
    assert found, f"no {name} line in:\n{output}"
    return float(found.group(1)), float(found.group(2))


def test_given_csv_with_signal_when_backtested_then_prints_metrics_for_model_and_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_leads_csv(tmp_path / "leads.csv", blank_labels=7, yes="Yes", no="NO")

    code = main([str(path), "--label", "converted"])

    out = capsys.readouterr().out
    assert code == 0
    model_auc, baseline_auc = metric(out, "ROC AUC")
    model_brier, baseline_brier = metric(out, "Brier score")
    assert model_auc > 0.6
    assert baseline_auc == 0.5
    assert model_brier < baseline_brier
    assert "1500 read, 7 skipped (blank label), 1493 used" in out
    assert re.search(r"train:\s+1045 rows, positive rate 0\.\d{3}", out)
    assert re.search(r"test:\s+448 rows, positive rate 0\.\d{3}", out)
    assert "Calibration, model (test split)" in out
    assert "Calibration, baseline: always" in out
    # Ten bins per table, each listed even when empty.
    assert len(re.findall(r"^\s+0\.\d-[01]\.\d\s", out, re.MULTILINE)) == 20


def test_given_positive_value_when_backtested_then_that_value_is_class_one_and_others_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_leads_csv(tmp_path / "leads.csv", yes="won", no="lost")

    code = main([str(path), "--label", "converted", "--positive", "won"])

    out = capsys.readouterr().out
    assert code == 0
    assert '(positive = "won")' in out
    assert metric(out, "ROC AUC")[0] > 0.6


def test_given_csv_with_byte_order_mark_when_backtested_then_label_column_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_leads_csv(tmp_path / "excel.csv", n=400, yes="1", no="0", encoding="utf-8-sig")

    assert main([str(path), "--label", "converted"]) == 0
    assert metric(capsys.readouterr().out, "ROC AUC")[0] > 0.6


def test_given_real_command_line_when_run_as_module_then_exits_zero_with_report(tmp_path: Path) -> None:
    path = write_leads_csv(tmp_path / "leads.csv", n=800, yes="true", no="false")

    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.scoring.backtest", str(path), "--label", "converted"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert metric(done.stdout, "ROC AUC")[0] > 0.6
    assert done.stderr == ""


def test_given_bad_label_when_run_as_module_then_exit_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("source,converted\na,yes\nb,maybe\n", encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.scoring.backtest", str(path), "--label", "converted"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ")


def _error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err.splitlines()


def test_given_missing_file_when_backtested_then_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([str(tmp_path / "nope.csv"), "--label", "converted"])

    (line,) = _error_lines(capsys)
    assert code == 2
    assert line.startswith("error: ") and "no such file" in line


def test_given_unknown_label_column_when_backtested_then_exit_2_naming_the_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_leads_csv(tmp_path / "leads.csv", n=50)

    code = main([str(path), "--label", "won"])

    (line,) = _error_lines(capsys)
    assert code == 2
    assert 'no column "won"' in line and '"converted"' in line


def test_given_unreadable_label_value_when_backtested_then_exit_2_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("source,converted\na,yes\nb,no\nc,maybe\n", encoding="utf-8")

    code = main([str(path), "--label", "converted"])

    (line,) = _error_lines(capsys)
    assert code == 2
    assert 'line 4: label "maybe"' in line and "--positive" in line


def test_given_one_class_only_when_backtested_then_exit_2_saying_both_classes_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_leads_csv(tmp_path / "leads.csv", n=60, yes="won", no="lost")

    code = main([str(path), "--label", "converted", "--positive", "WON"])

    (line,) = _error_lines(capsys)
    assert code == 2
    assert "has 0 positive" in line


def test_given_empty_file_when_backtested_then_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")

    code = main([str(path), "--label", "converted"])

    (line,) = _error_lines(capsys)
    assert code == 2
    assert "empty" in line
