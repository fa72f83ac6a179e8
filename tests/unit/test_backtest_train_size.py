"""`--train-size N` (a learning-curve point on a fixed holdout) and
`--compare-sklearn` (a plain scikit-learn reference column) of the backtest."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from chalicelib.scoring.backtest import main
from tests.unit.test_backtest import REPO, metric, write_leads_csv

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def leads(tmp_path: Path) -> Path:
    return write_leads_csv(tmp_path / "leads.csv", n=1500)


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def line(output: str, starts: str) -> str:
    found = [text for text in output.splitlines() if text.strip().startswith(starts)]
    assert found, f"no line starting {starts!r} in:\n{output}"
    return found[0].strip()


def test_GIVEN_a_train_size_WHEN_backtested_THEN_it_trains_on_that_many_rows_and_tests_on_the_same_holdout(
    leads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everything = report(capsys, str(leads), "--label", "converted")
    few = report(capsys, str(leads), "--label", "converted", "--train-size", "100")

    assert line(few, "train:").startswith("train:  100 rows, positive rate")
    assert line(few, "train:").endswith("(--train-size 100 of 1050, seed 0)")
    assert line(few, "test:") == line(everything, "test:")
    assert "Test split (450 rows)" in few


def test_GIVEN_growing_train_sizes_WHEN_backtested_THEN_the_learning_curve_rises_on_the_fixed_holdout(
    leads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    curve = {
        n: metric(report(capsys, str(leads), "--label", "converted", "--train-size", str(n)), "ROC AUC")[0]
        for n in (30, 1050)
    }

    assert curve[1050] > curve[30]
    assert curve[1050] > 0.7


def test_GIVEN_another_seed_WHEN_backtested_THEN_other_rows_are_drawn_and_the_holdout_stays(
    leads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = report(capsys, str(leads), "--label", "converted", "--train-size", "60")
    second = report(capsys, str(leads), "--label", "converted", "--train-size", "60", "--seed", "5")

    assert line(second, "train:").endswith("(--train-size 60 of 1050, seed 5)")
    assert line(first, "test:") == line(second, "test:")
    assert metric(first, "ROC AUC")[0] != metric(second, "ROC AUC")[0]


def _errors(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_GIVEN_a_train_size_above_the_training_rows_WHEN_backtested_THEN_exit_2_with_the_count(
    leads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([str(leads), "--label", "converted", "--train-size", "1051"])

    assert code == 2
    assert _errors(capsys) == ["error: --train-size 1051 is more than the 1050 training rows"]


def rare_positives(path: Path) -> Path:
    """100 leads, 3 of them converted: a tiny draw is likely all negative."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["messages", "converted"])
        for i in range(100):
            writer.writerow([i % 9, int(i in (10, 50, 90))])
    return path


def test_GIVEN_a_draw_of_one_class_WHEN_backtested_THEN_exit_2_asking_for_more_rows_or_a_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([str(rare_positives(tmp_path / "rare.csv")), "--label", "converted", "--train-size", "2"])

    assert code == 2
    assert _errors(capsys) == [
        "error: --train-size 2 (seed 0) drew only one class; use a larger size or another --seed"
    ]


@pytest.mark.parametrize("size", ["1", "0", "-5", "ten"])
def test_GIVEN_a_train_size_that_is_not_two_or_more_WHEN_parsed_THEN_usage_error(
    leads: Path, size: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([str(leads), "--label", "converted", "--train-size", size])

    assert exited.value.code == 2
    assert "--train-size" in capsys.readouterr().err


def sklearn_line(output: str, name: str) -> tuple[float, float, float]:
    found = re.search(rf"^\s*{name}\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s*$", output, re.MULTILINE)
    assert found, f"no three-column {name} line in:\n{output}"
    model, baseline, reference = (float(found.group(k)) for k in (1, 2, 3))
    return model, baseline, reference


def run_module(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.scoring.backtest", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_GIVEN_compare_sklearn_WHEN_run_as_module_THEN_a_reference_column_close_to_the_model(leads: Path) -> None:
    done = run_module(str(leads), "--label", "converted", "--train-size", "500", "--compare-sklearn")

    assert done.returncode == 0, done.stderr
    assert re.search(r"^Test split \(450 rows\)\s+model\s+baseline\s+sklearn$", done.stdout, re.MULTILINE)
    model_auc, baseline_auc, sklearn_auc = sklearn_line(done.stdout, "ROC AUC")
    model_brier, baseline_brier, sklearn_brier = sklearn_line(done.stdout, "Brier score")
    assert baseline_auc == 0.5
    # Both learn the signal, and the same one: the same encoding and objective.
    assert sklearn_auc > 0.7 and model_auc > 0.7
    assert abs(model_auc - sklearn_auc) < 0.03
    assert model_brier < baseline_brier and sklearn_brier < baseline_brier


@pytest.mark.parametrize(
    ("extra", "loaded"),
    [((), "False"), (("--compare-sklearn",), "True")],
)
def test_GIVEN_the_backtest_WHEN_run_THEN_sklearn_is_imported_only_for_the_comparison(
    leads: Path, extra: tuple[str, ...], loaded: str
) -> None:
    argv = [str(leads), "--label", "converted", "--train-size", "200", *extra]
    probe = (
        "import sys, contextlib, io\n"
        "from chalicelib.scoring.backtest import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({argv!r})\n"
        "print(code, 'sklearn' in sys.modules)"
    )

    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)

    assert done.stdout.split() == ["0", loaded]
