"""Offline backtest: would the scoring model have worked on this data?

    python -m chalicelib.scoring.backtest leads.csv --label converted [--positive won]
        [--train-size N [--seed S]] [--compare-sklearn]

Reads a CSV export, splits it 70/30 (stratified, fixed seed), trains on the
70% with exactly the recipe the scheduled training job uses, and prints ROC
AUC, Brier score and a calibration table on the 30%, next to a constant
baseline that always predicts the training positive rate. Every column other
than the label is a feature; blank labels are skipped.

`--train-size N` trains on only N rows of the 70% (a seeded draw; `--seed`
changes it, and a smaller N's rows are among a larger N's), still testing on
the same 30%: run it for several N to draw a learning curve. The holdout never
depends on N or the seed, so the points are comparable.

`--compare-sklearn` adds a column for a plain scikit-learn pipeline (mean
imputation with missing flags, standard scaling, one-hot encoding, default
`LogisticRegression`) trained on the same rows. scikit-learn is a development
tool (requirements-dev.txt), imported only on this path, never deployed.

Bad input (missing file, unknown label column, unreadable label, one class
only) prints one `error:` line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.scoring.metrics import CalibrationBin, brier_score, calibration_table, roc_auc
from chalicelib.scoring.trainer import (
    CategoricalColumn,
    NumericColumn,
    category_of,
    cell_number,
    stratified_split,
    train,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chalicelib.scoring.trainer import Row

SEED = 0
TEST_FRACTION = 0.3
BINS = 10
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}


class BacktestError(Exception):
    """A problem with the input, reported as one line and exit status 2."""


@dataclass
class Dataset:
    rows: list[dict[str, str | None]]
    labels: list[int]
    read: int
    skipped: int


def _label_of(cell: str, positive: str | None, line: int) -> int:
    text = cell.strip()
    if positive is not None:
        return int(text == positive.strip())
    folded = text.lower()
    if folded in _TRUE:
        return 1
    if folded in _FALSE:
        return 0
    # Exports from spreadsheets and dataframes often write 1.0 / 0.0.
    try:
        number = float(folded)
    except ValueError:
        number = None
    if number in (0.0, 1.0):
        return int(number)
    raise BacktestError(
        f'line {line}: label "{text}" is not 1/0, true/false or yes/no '
        "(use --positive VALUE to name the positive class)"
    )


def read_dataset(path: Path, label: str, positive: str | None) -> Dataset:
    rows: list[dict[str, str | None]] = []
    labels: list[int] = []
    read = skipped = 0
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None:
                raise BacktestError(f"{path}: the file is empty (no header row)")
            if label not in reader.fieldnames:
                columns = ", ".join(f'"{name}"' for name in reader.fieldnames)
                raise BacktestError(f'{path}: no column "{label}"; the columns are {columns}')
            for record in reader:
                read += 1
                cell = record.get(label)
                if cell is None or not cell.strip():
                    skipped += 1
                    continue
                labels.append(_label_of(cell, positive, reader.line_num))
                # Key None holds the surplus cells of a row longer than the header.
                rows.append({name: value for name, value in record.items() if name is not None and name != label})
    except FileNotFoundError:
        raise BacktestError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise BacktestError(f"{path}: not UTF-8 text") from None
    except csv.Error as failure:
        raise BacktestError(f"{path}: not a readable CSV file ({failure})") from None
    except OSError as failure:
        raise BacktestError(f"{path}: {failure.strerror or failure}") from None
    return Dataset(rows=rows, labels=labels, read=read, skipped=skipped)


def _rate(labels: Sequence[int]) -> float:
    return sum(labels) / len(labels)


def _cell(value: float | None, width: int) -> str:
    return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"


def _calibration_lines(title: str, table: Sequence[CalibrationBin]) -> list[str]:
    lines = [title, f"  {'predicted':<11}{'rows':>7}{'mean pred':>11}{'observed':>10}"]
    for row in table:
        span = f"{row.lower:.1f}-{row.upper:.1f}"
        lines.append(f"  {span:<11}{row.count:>7}{_cell(row.mean_predicted, 11)}{_cell(row.observed_rate, 10)}")
    return lines


def _subsample(train_idx: list[int], labels: Sequence[int], size: int | None, seed: int) -> list[int]:
    """The first `size` training rows of a seeded shuffle (all of them when
    size is None), so a smaller size's rows are among a larger one's."""
    if size is None:
        return train_idx
    if size > len(train_idx):
        raise BacktestError(f"--train-size {size} is more than the {len(train_idx)} training rows")
    order = list(train_idx)
    random.Random(seed).shuffle(order)
    chosen = sorted(order[:size])
    positives = sum(labels[i] for i in chosen)
    if positives == 0 or positives == size:
        raise BacktestError(
            f"--train-size {size} (seed {seed}) drew only one class; use a larger size or another --seed"
        )
    return chosen


def _sklearn_probabilities(
    columns: Sequence[NumericColumn | CategoricalColumn],
    train_rows: Sequence[Row],
    train_labels: Sequence[int],
    test_rows: Sequence[Row],
) -> list[float]:
    """The reference: a plain scikit-learn pipeline over the same columns
    (numeric: mean-imputed with missing flags, standardised; categorical:
    one-hot, blanks their own value, unseen values ignored) and its default
    `LogisticRegression`. Imported here only: scikit-learn is never deployed."""
    try:
        import numpy as np
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler
    except ImportError:
        raise BacktestError(
            "--compare-sklearn needs scikit-learn (a development tool: pip install -r requirements-dev.txt)"
        ) from None

    numeric = [c.name for c in columns if isinstance(c, NumericColumn)]
    categorical = [c.name for c in columns if isinstance(c, CategoricalColumn)]

    def numbers(rows: Sequence[Row]) -> Any:
        cells = [[cell_number(row.get(name)) for name in numeric] for row in rows]
        return np.array([[math.nan if n is None else n for n in row] for row in cells], dtype=float).reshape(
            len(rows), len(numeric)
        )

    def categories(rows: Sequence[Row]) -> Any:
        cells = [[category_of(row.get(name)) for name in categorical] for row in rows]
        return np.array(cells, dtype=object).reshape(len(rows), len(categorical))

    scale = make_pipeline(SimpleImputer(strategy="mean", add_indicator=True), StandardScaler())
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    blocks_train = []
    blocks_test = []
    if numeric:
        blocks_train.append(scale.fit_transform(numbers(train_rows)))
        blocks_test.append(scale.transform(numbers(test_rows)))
    if categorical:
        blocks_train.append(onehot.fit_transform(categories(train_rows)))
        blocks_test.append(onehot.transform(categories(test_rows)))
    if not blocks_train:
        raise BacktestError("no feature column has a value in the training rows")
    model = LogisticRegression(max_iter=1000)
    model.fit(np.hstack(blocks_train), np.array(train_labels))
    return [float(p) for p in model.predict_proba(np.hstack(blocks_test))[:, 1]]


def _metric_lines(
    rows: int,
    labels: Sequence[int],
    predicted: Sequence[float],
    constant: Sequence[float],
    reference: Sequence[float] | None,
) -> list[str]:
    columns = [predicted, constant] + ([reference] if reference is not None else [])
    header = f"{f'Test split ({rows} rows)':<26}{'model':>10}{'baseline':>10}" + (
        f"{'sklearn':>10}" if reference is not None else ""
    )
    lines = [header]
    for name, measure in (("ROC AUC", roc_auc), ("Brier score", brier_score)):
        lines.append(f"  {name:<24}" + "".join(f"{measure(labels, column):>10.4f}" for column in columns))
    return lines


def backtest(
    path: Path,
    label: str,
    positive: str | None,
    *,
    train_size: int | None = None,
    seed: int = SEED,
    compare_sklearn: bool = False,
) -> list[str]:
    """The report's lines; raises BacktestError for input it cannot use."""
    data = read_dataset(path, label, positive)
    positives = sum(data.labels)
    negatives = len(data.labels) - positives
    if positives < 2 or negatives < 2:
        what = f'"{positive}"' if positive is not None else "1/true/yes"
        raise BacktestError(
            f"{path}: needs at least 2 rows of each class to split; has {positives} positive ({what}) "
            f"and {negatives} negative among {len(data.labels)} labelled rows"
        )

    train_idx, test_idx = stratified_split(data.labels, test_fraction=TEST_FRACTION, seed=SEED)
    available = len(train_idx)
    train_idx = _subsample(train_idx, data.labels, train_size, seed)
    train_labels = [data.labels[i] for i in train_idx]
    test_labels = [data.labels[i] for i in test_idx]
    started = time.perf_counter()
    model = train([data.rows[i] for i in train_idx], train_labels)
    seconds = time.perf_counter() - started
    predicted = model.predict_many([data.rows[i] for i in test_idx])
    base_rate = _rate(train_labels)
    constant = [base_rate] * len(test_idx)
    reference = (
        _sklearn_probabilities(
            model.columns, [data.rows[i] for i in train_idx], train_labels, [data.rows[i] for i in test_idx]
        )
        if compare_sklearn
        else None
    )

    numeric = sum(isinstance(column, NumericColumn) for column in model.columns)
    categorical = sum(isinstance(column, CategoricalColumn) for column in model.columns)
    unused = len(data.rows[0]) - numeric - categorical if data.rows else 0
    positive_is = f'"{positive}"' if positive is not None else "1/true/yes"
    lines = [
        f"Backtest of {path}",
        f'  label:    "{label}" (positive = {positive_is})',
        f"  rows:     {data.read} read, {data.skipped} skipped (blank label), {len(data.labels)} used, "
        f"positive rate {_rate(data.labels):.3f}",
        f"  split:    stratified {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%}, seed {SEED}",
        f"    train:  {len(train_idx)} rows, positive rate {base_rate:.3f}"
        + (f" (--train-size {train_size} of {available}, seed {seed})" if train_size is not None else ""),
        f"    test:   {len(test_idx)} rows, positive rate {_rate(test_labels):.3f}",
        f"  features: {numeric} numeric and {categorical} categorical columns, "
        f"{len(model.feature_names)} encoded features" + (f" ({unused} empty columns ignored)" if unused else ""),
        f"  trained in {seconds:.2f} s",
        "",
        *_metric_lines(len(test_idx), test_labels, predicted, constant, reference),
        "",
        *_calibration_lines("Calibration, model (test split)", calibration_table(test_labels, predicted, BINS)),
        "",
        *_calibration_lines(
            f"Calibration, baseline: always {base_rate:.3f} (test split)",
            calibration_table(test_labels, constant, BINS),
        ),
    ]
    return lines


def _at_least_two(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 2:
        raise argparse.ArgumentTypeError("must be at least 2 (one row of each class)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.scoring.backtest",
        description="Train the lead-scoring model on 70%% of a CSV and report how it scores the other 30%%.",
    )
    parser.add_argument("file", type=Path, help="CSV file with a header row")
    parser.add_argument("--label", required=True, help="column holding the outcome")
    parser.add_argument(
        "--positive",
        metavar="VALUE",
        help="label value that counts as positive (others are negative); default: 1/0, true/false, yes/no",
    )
    parser.add_argument(
        "--train-size",
        metavar="N",
        type=_at_least_two,
        help="train on only N rows of the 70%% (a seeded draw), still testing on the same 30%%: a learning-curve point",
    )
    parser.add_argument(
        "--seed", type=int, default=SEED, help="which N rows --train-size draws (the test split never changes)"
    )
    parser.add_argument(
        "--compare-sklearn",
        action="store_true",
        help="add a column for scikit-learn's LogisticRegression on the same rows (needs requirements-dev.txt)",
    )
    args = parser.parse_args(argv)
    try:
        lines = backtest(
            args.file,
            args.label,
            args.positive,
            train_size=args.train_size,
            seed=args.seed,
            compare_sklearn=args.compare_sklearn,
        )
    except BacktestError as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
