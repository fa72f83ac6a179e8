"""Logistic regression trained on this CRM's outcomes, and the model it stores.

Two halves with different budgets:

* `train` runs in the daily scheduled function. It imports numpy *inside* the
  function and fits an L2-regularised logistic regression by Newton's method
  (the same objective as scikit-learn's default `LogisticRegression(C=1.0)`),
  then calibrates it with Platt scaling fitted on out-of-fold predictions.
* `TrainedModel` is what gets stored (as JSON, in one DynamoDB item) and what
  the API uses to score a lead. Its `predict` and `contributions` are plain
  Python, so importing this module never loads numpy and the request path's
  cold start stays small.

Encoding, shared by both halves through the same cell helpers:

* numeric column (every non-blank training value is a finite number): blanks
  become the training mean, the value is standardised with the training
  mean/std, and a "<col> missing" 0/1 feature is added when the column had
  blanks in training;
* categorical column: one-hot over the most frequent values (at most
  `MAX_CATEGORIES`, each seen at least `rare_min_count` times: 5 from 1,000 rows); everything else,
  including values never seen in training, shares one "(rare)" feature, and
  blanks are their own "(blank)" category.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from chalicelib.scoring.base import Value

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Matrix = NDArray[np.float64]

Row = Mapping[str, Value]

BLANK = "(blank)"
RARE = "(rare)"
# Keeps the stored model small (one DynamoDB item) and stops an ID-like column
# from turning into thousands of one-row features.
MAX_CATEGORIES = 50
CALIBRATION_FOLDS = 3

_NEWTON_MAX_ITER = 100
_NEWTON_TOL = 1e-9


class NotEnoughData(ValueError):
    """Training needs at least one outcome of each class."""


# --- cells: shared by training (numpy) and scoring (pure Python) ----------------


def _is_blank(value: Value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    # NaN is how dataframes and some exports spell "missing"; infinities carry
    # no usable magnitude either.
    return isinstance(value, float) and not math.isfinite(value)


def _number(value: Value) -> float | None:
    """The finite number a non-blank cell holds, or None when it holds none."""
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            return None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _category(value: Value) -> str:
    """The category a cell names. Numbers are spelt the way a CSV spells them,
    so 3.0 from the CRM and "3" from a file are the same category."""
    if _is_blank(value):
        return BLANK
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def cell_number(value: Value) -> float | None:
    """A numeric column's cell as training reads it: None when blank or not a
    finite number (the backtest's reference model encodes cells the same way)."""
    return None if _is_blank(value) else _number(value)


def category_of(value: Value) -> str:
    """A categorical column's cell as training reads it, "(blank)" for blanks."""
    return _category(value)


def _sigmoid(z: float) -> float:
    # Two branches so neither exp() can overflow.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# --- the stored model -----------------------------------------------------------


class NumericColumn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["numeric"] = "numeric"
    name: str
    mean: float
    std: float
    # True when training saw blanks, so a "<name> missing" feature exists.
    has_missing: bool


class CategoricalColumn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["categorical"] = "categorical"
    name: str
    # Each kept category has a feature "<name>=<category>". May include
    # "(blank)" and "(rare)" when training saw them.
    categories: list[str]


Column = Annotated[NumericColumn | CategoricalColumn, Field(discriminator="kind")]


class Calibration(BaseModel):
    """Platt scaling: probability = sigmoid(a * raw_logit + b)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    a: float
    b: float


class TrainedModel(BaseModel):
    """A calibrated logistic regression over encoded columns.

    `feature_names`, `coefficients` and `feature_means` are parallel lists;
    coefficients apply to the encoded (standardised, one-hot) features, and
    `feature_means` are those features' training means, which contributions
    are measured against.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[Column]
    feature_names: list[str]
    coefficients: list[float]
    feature_means: list[float]
    intercept: float
    calibration: Calibration
    trained_rows: int
    positives: int
    # The penalty strength the model was fitted with (0.5 * l2 * ||w||^2).
    l2: float
    rare_min_count: int

    _index: dict[str, int] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object, /) -> None:
        if not (len(self.feature_names) == len(self.coefficients) == len(self.feature_means)):
            raise ValueError("feature_names, coefficients and feature_means must have the same length")
        self._index = {name: i for i, name in enumerate(self.feature_names)}

    def encode(self, row: Row) -> dict[int, float]:
        """The row's non-zero encoded features, by feature index. Values the
        model cannot use (an unparsable number, an unseen category) fall back
        to what training did with blanks and rare values; scoring never fails
        on a cell."""
        encoded: dict[int, float] = {}
        for column in self.columns:
            value = row.get(column.name)
            if isinstance(column, NumericColumn):
                number = None if _is_blank(value) else _number(value)
                z = math.nan if number is None else (number - column.mean) / column.std
                if not math.isfinite(z):
                    # Blank, unparsable, or so near the float limit that it
                    # overflows: the training mean stands in, which
                    # standardises to 0, and the missing flag says so.
                    if column.has_missing:
                        encoded[self._index[f"{column.name} missing"]] = 1.0
                    continue
                if z != 0.0:
                    encoded[self._index[column.name]] = z
            else:
                index = self._index.get(f"{column.name}={_category(value)}")
                if index is None:
                    index = self._index.get(f"{column.name}={RARE}")
                if index is not None:
                    encoded[index] = 1.0
        return encoded

    def raw_log_odds(self, row: Row) -> float:
        """The regression's log-odds before calibration."""
        return self.intercept + sum(self.coefficients[i] * x for i, x in self.encode(row).items())

    def log_odds(self, row: Row) -> float:
        """Calibrated log-odds: logit of `predict(row)`."""
        return self.calibration.a * self.raw_log_odds(row) + self.calibration.b

    def predict(self, row: Row) -> float:
        """Calibrated probability that the lead converts, in [0, 1]."""
        return _sigmoid(self.log_odds(row))

    def predict_many(self, rows: Sequence[Row]) -> list[float]:
        return [self.predict(row) for row in rows]

    @property
    def base_log_odds(self) -> float:
        """Calibrated log-odds of the average training lead (every encoded
        feature at its training mean): `contributions` are measured from here."""
        at_mean = self.intercept + sum(c * m for c, m in zip(self.coefficients, self.feature_means, strict=True))
        return self.calibration.a * at_mean + self.calibration.b

    def contributions(self, row: Row) -> dict[str, float]:
        """Signed push of each encoded feature on the calibrated log-odds,
        relative to the training mean: a * coef_j * (x_j - mean_j).
        `base_log_odds + sum(contributions)` is `log_odds(row)`."""
        encoded = self.encode(row)
        a = self.calibration.a
        return {
            name: a * coef * (encoded.get(j, 0.0) - mean)
            for j, (name, coef, mean) in enumerate(
                zip(self.feature_names, self.coefficients, self.feature_means, strict=True)
            )
        }

    def column_contributions(self, row: Row) -> dict[str, float]:
        """`contributions` summed per column, so an explanation speaks of the
        lead's own values: "source=src_a +0.40" (its source against the
        average source), not one line per source it does not have. Numeric
        columns keep their name (their missing flag folds in)."""
        encoded = self.encode(row)
        labels: dict[str, str] = {}
        for column in self.columns:
            labels[column.name] = column.name
            if isinstance(column, CategoricalColumn):
                chosen = next(
                    (self.feature_names[j] for j in encoded if self.feature_names[j].startswith(f"{column.name}=")),
                    None,
                )
                labels[column.name] = chosen or column.name
        totals: dict[str, float] = {}
        for name, value in self.contributions(row).items():
            column_name = name.removesuffix(" missing").split("=", 1)[0]
            label = labels.get(column_name, column_name)
            totals[label] = totals.get(label, 0.0) + value
        return totals


# --- splitting ------------------------------------------------------------------


def _stratified_groups(labels: Sequence[int], seed: int) -> dict[int, list[int]]:
    """Indices of each class, shuffled reproducibly (same seed, same order on
    every platform: `random.Random` is specified, numpy's default RNG may not
    stay stable across versions)."""
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    rng = random.Random(seed)
    for key in sorted(groups):
        rng.shuffle(groups[key])
    return groups


def stratified_split(labels: Sequence[int], test_fraction: float = 0.3, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train indices, test indices), each class split in the same proportion.
    A class with at least two rows has at least one on each side; a class of
    one row stays in training. Deterministic for a given seed."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be between 0 and 1")
    train_idx: list[int] = []
    test_idx: list[int] = []
    groups = _stratified_groups(labels, seed)
    for key in sorted(groups):
        members = groups[key]
        n_test = 0 if len(members) < 2 else min(max(round(len(members) * test_fraction), 1), len(members) - 1)
        test_idx.extend(members[:n_test])
        train_idx.extend(members[n_test:])
    return sorted(train_idx), sorted(test_idx)


def _stratified_folds(labels: Sequence[int], folds: int, seed: int) -> list[int]:
    """Fold number of each row; each class is dealt round-robin over the folds."""
    fold_of = [0] * len(labels)
    groups = _stratified_groups(labels, seed)
    for key in sorted(groups):
        for position, i in enumerate(groups[key]):
            fold_of[i] = position % folds
    return fold_of


# --- training (numpy from here on, imported only inside functions) -------------


def _mean_and_std(values: Sequence[float]) -> tuple[float, float]:
    """Population mean and std (as StandardScaler computes them), on values
    scaled into [-1, 1] first so that numbers near the float limit cannot
    overflow the sums."""
    scale = max(abs(v) for v in values) or 1.0
    scaled = [v / scale for v in values]
    mean = math.fsum(scaled) / len(scaled)
    variance = math.fsum((v - mean) * (v - mean) for v in scaled) / len(scaled)
    return mean * scale, math.sqrt(variance) * scale


def _columns_of(rows: Sequence[Row], rare_min_count: int) -> list[NumericColumn | CategoricalColumn]:
    """Infers each column's type and encoding from the training rows. Columns
    with no value at all carry no information and are left out."""
    names = sorted({name for row in rows for name in row})
    columns: list[NumericColumn | CategoricalColumn] = []
    for name in names:
        cells = [row.get(name) for row in rows]
        present = [cell for cell in cells if not _is_blank(cell)]
        if not present:
            continue
        numbers = [_number(cell) for cell in present]
        if all(number is not None for number in numbers):
            mean, std = _mean_and_std([number for number in numbers if number is not None])
            columns.append(
                NumericColumn(
                    name=name,
                    mean=mean,
                    # A constant column standardises to all zeros: any scale will do.
                    std=std if std > 0 else 1.0,
                    has_missing=len(present) < len(cells),
                )
            )
            continue
        counts = Counter(_category(cell) for cell in cells)
        blanks = counts.pop(BLANK, 0)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = [value for value, count in ranked if count >= rare_min_count][:MAX_CATEGORIES]
        categories = kept + ([BLANK] if blanks else []) + ([RARE] if len(kept) < len(ranked) else [])
        columns.append(CategoricalColumn(name=name, categories=categories))
    return columns


def _feature_names(columns: Sequence[NumericColumn | CategoricalColumn]) -> list[str]:
    names: list[str] = []
    for column in columns:
        if isinstance(column, NumericColumn):
            names.append(column.name)
            if column.has_missing:
                names.append(f"{column.name} missing")
        else:
            names.extend(f"{column.name}={category}" for category in column.categories)
    return names


def _design_matrix(rows: Sequence[Row], columns: Sequence[NumericColumn | CategoricalColumn]) -> Matrix:
    """Encoded features, one row per lead; the same encoding as
    `TrainedModel.encode`, built column by column so 100,000 rows stay fast."""
    import numpy as np

    blocks: list[Matrix] = []
    for column in columns:
        cells = [row.get(column.name) for row in rows]
        if isinstance(column, NumericColumn):
            numbers = [None if _is_blank(cell) else _number(cell) for cell in cells]
            missing = np.array([number is None for number in numbers], dtype=bool)
            values = np.array([column.mean if number is None else number for number in numbers], dtype=float)
            blocks.append(((values - column.mean) / column.std)[:, None])
            if column.has_missing:
                blocks.append(missing.astype(float)[:, None])
        else:
            position = {category: j for j, category in enumerate(column.categories)}
            rare = position.get(RARE, -1)
            codes = np.array([position.get(_category(cell), rare) for cell in cells], dtype=np.int64)
            block = np.zeros((len(rows), len(column.categories)))
            seen = codes >= 0
            block[np.nonzero(seen)[0], codes[seen]] = 1.0
            blocks.append(block)
    if not blocks:
        return np.zeros((len(rows), 0))
    return np.hstack(blocks)


def _fit_logistic(x: Matrix, y: Matrix, l2: float) -> tuple[Matrix, float]:
    """Minimises sum(log-loss) + 0.5 * l2 * ||w||^2 (intercept unpenalised) by
    Newton's method with a backtracking line search. `y` may hold soft
    targets in [0, 1] (Platt scaling uses them). Returns (w, intercept)."""
    import numpy as np

    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    penalty = np.full(d + 1, l2, dtype=float)
    penalty[d] = 0.0
    theta: Matrix = np.zeros(d + 1)
    # Start the intercept at the base rate: Newton then needs fewer steps.
    rate = min(max(float(y.mean()), 1e-6), 1 - 1e-6)
    theta[d] = math.log(rate / (1 - rate))

    def objective(t: Matrix) -> float:
        z = design @ t
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(penalty * t * t))

    value = objective(theta)
    for _ in range(_NEWTON_MAX_ITER):
        z = design @ theta
        p = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid without overflow warnings
        gradient = design.T @ (p - y) + penalty * theta
        hessian = (design.T * (p * (1.0 - p))) @ design + np.diag(penalty)
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        # Newton's decrement (squared); half of it estimates the distance to the optimum.
        decrease = float(gradient @ step)
        if not decrease > _NEWTON_TOL * max(1.0, abs(value)):
            break
        scale = 1.0
        while True:
            candidate = theta - scale * step
            candidate_value = objective(candidate)
            if candidate_value <= value - 1e-4 * scale * decrease or scale < 1e-10:
                break
            scale *= 0.5
        theta, value = candidate, candidate_value
    return theta[:d], float(theta[d])


def _platt(logits: Matrix, labels: Matrix) -> Calibration:
    """Fits sigmoid(a * logit + b) with Platt's smoothed targets, which keep
    `a` finite when the out-of-fold logits separate the classes."""
    import numpy as np

    positives = float(labels.sum())
    negatives = float(len(labels) - positives)
    targets = np.where(labels == 1, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    if float(np.ptp(logits)) > 1e-12:
        (a,), b = _fit_logistic(logits[:, None], targets, 0.0)
        if a > 0:
            return Calibration(a=float(a), b=b)
    # No out-of-fold signal (or a reversed one): the honest model predicts the
    # base rate for everyone rather than ranking leads by noise.
    rate = float(targets.mean())
    return Calibration(a=0.0, b=math.log(rate / (1 - rate)))


def default_rare_min_count(rows: int) -> int:
    """How often a category must be seen to get its own feature: 5 from
    1,000 rows on, fewer below. With few outcomes every seen value is
    evidence; pooling the ones seen under 5 times threw away most of a
    100-row sample's categories (the learning curve in docs/performance.md)."""
    return min(5, max(1, rows // 200))


def train(
    rows: Sequence[Row],
    labels: Sequence[int],
    *,
    l2: float = 1.0,
    rare_min_count: int | None = None,
    seed: int = 0,
) -> TrainedModel:
    """Fits the calibrated model on rows (column name → value) and 0/1 labels.

    `l2` is the penalty strength (1/C in scikit-learn terms: the default 1.0
    matches `LogisticRegression()`). Calibration is fitted on 3-fold stratified
    out-of-fold predictions (folds fixed by `seed`); the returned model is then
    refitted on every row. `rare_min_count` defaults to `default_rare_min_count`.
    """
    import numpy as np

    if len(rows) != len(labels):
        raise ValueError(f"{len(rows)} rows but {len(labels)} labels")
    if any(label not in (0, 1) for label in labels):
        raise ValueError("labels must be 0 or 1")
    if l2 <= 0:
        raise ValueError("l2 must be positive")
    y = np.array([int(label) for label in labels], dtype=float)
    positives = int(y.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise NotEnoughData(f"needs both outcomes; has {positives} positive and {negatives} negative rows")

    if rare_min_count is None:
        rare_min_count = default_rare_min_count(len(rows))
    columns = _columns_of(rows, rare_min_count)
    names = _feature_names(columns)
    x = _design_matrix(rows, columns)

    # Each fold's training part must hold both classes, so small minorities get fewer folds.
    folds = min(CALIBRATION_FOLDS, positives, negatives)
    if folds >= 2:
        fold_of = np.array(_stratified_folds([int(v) for v in y], folds, seed))
        out_of_fold = np.empty(len(y))
        for fold in range(folds):
            held = fold_of == fold
            w, intercept = _fit_logistic(x[~held], y[~held], l2)
            out_of_fold[held] = x[held] @ w + intercept
        calibration = _platt(out_of_fold, y)
    else:
        # One row of a class cannot be held out and learnt from at once.
        calibration = Calibration(a=1.0, b=0.0)

    w, intercept = _fit_logistic(x, y, l2)
    means = x.mean(axis=0) if len(names) else np.zeros(0)
    # A standardised column's mean is 0 by construction; rounding noise there
    # would make a value at the mean "contribute" 1e-17 and show up as a factor.
    for column in columns:
        if isinstance(column, NumericColumn):
            means[names.index(column.name)] = 0.0
    return TrainedModel(
        columns=columns,
        feature_names=names,
        coefficients=[float(v) for v in w],
        feature_means=[float(v) for v in means],
        intercept=intercept,
        calibration=calibration,
        trained_rows=len(rows),
        positives=positives,
        l2=float(l2),
        rare_min_count=rare_min_count,
    )
