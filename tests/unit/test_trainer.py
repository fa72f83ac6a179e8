"""The scoring trainer and its metrics, checked against scikit-learn.

scikit-learn is a test-only reference: our Newton fit must learn what
`LogisticRegression(C=1.0)` learns, and our pure-Python metrics must agree
with `sklearn.metrics`.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from chalicelib.scoring.base import Value
from chalicelib.scoring.metrics import brier_score, calibration_table, roc_auc
from chalicelib.scoring.trainer import (
    BLANK,
    MAX_CATEGORIES,
    RARE,
    CategoricalColumn,
    NotEnoughData,
    NumericColumn,
    TrainedModel,
    default_rare_min_count,
    stratified_split,
    train,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

REPO = Path(__file__).resolve().parents[2]
NUMERIC = ["message_count", "appeals_count", "days_since_created"]
CATEGORICAL = ["source", "business_domain"]

Rows = list[dict[str, Value]]


def crm_outcomes(n: int, seed: int = 7) -> tuple[Rows, list[int]]:
    """Leads shaped like the CRM's, with a known logistic signal: eight
    sources with different pull, thirty business domains (skewed, so the
    tail is rare), one-off domains, blank domains and blank message counts."""
    rng = random.Random(seed)
    sources = [f"src_{letter}" for letter in "abcdefgh"]
    source_effect = {source: rng.gauss(0.0, 0.8) for source in sources}
    domains = [f"domain_{i:02d}" for i in range(30)]
    domain_effect = {domain: rng.gauss(0.0, 0.6) for domain in domains}
    rows: Rows = []
    labels: list[int] = []
    for _ in range(n):
        source = rng.choice(sources)
        draw = rng.random()
        if draw < 0.1:
            domain: str | None = None
        elif draw < 0.11:
            domain = f"one_off_{rng.randrange(10**9)}"
        else:
            domain = domains[min(int(rng.expovariate(0.15)), len(domains) - 1)]
        messages = float(rng.randrange(0, 20))
        appeals = float(rng.randrange(0, 4))
        days = rng.expovariate(1 / 10)
        logit = (
            -1.0
            + source_effect[source]
            + domain_effect.get(domain, -0.4)
            + 0.12 * messages
            - 0.3 * appeals
            - 0.05 * days
        )
        labels.append(int(rng.random() < 1 / (1 + math.exp(-logit))))
        rows.append(
            {
                "source": source,
                "business_domain": domain,
                # The CRM always knows the count; a CSV export may not.
                "message_count": None if rng.random() < 0.08 else messages,
                "appeals_count": appeals,
                "days_since_created": days,
            }
        )
    return rows, labels


def pick(items: Sequence, indices: Sequence[int]) -> list:
    return [items[i] for i in indices]


def sklearn_probabilities(train_rows: Rows, train_labels: list[int], test_rows: Rows) -> list[float]:
    """The reference: scikit-learn's own imputers, scaler and one-hot encoder
    (rare values grouped, unseen ones into that group) and its default
    `LogisticRegression(C=1.0)`."""

    def numeric(rows: Rows) -> np.ndarray:
        return np.array([[np.nan if row.get(c) is None else float(row[c]) for c in NUMERIC] for row in rows])

    def categorical(rows: Rows) -> np.ndarray:
        return np.array([[row.get(c) for c in CATEGORICAL] for row in rows], dtype=object)

    imputer = SimpleImputer(strategy="mean")
    scaler = StandardScaler()
    indicator = MissingIndicator(features="missing-only")
    filler = SimpleImputer(missing_values=None, strategy="constant", fill_value=BLANK)
    onehot = OneHotEncoder(min_frequency=5, handle_unknown="infrequent_if_exist", sparse_output=False)

    train_numeric, train_categorical = numeric(train_rows), categorical(train_rows)
    x_train = np.hstack(
        [
            scaler.fit_transform(imputer.fit_transform(train_numeric)),
            indicator.fit_transform(train_numeric),
            onehot.fit_transform(filler.fit_transform(train_categorical)),
        ]
    )
    test_numeric, test_categorical = numeric(test_rows), categorical(test_rows)
    x_test = np.hstack(
        [
            scaler.transform(imputer.transform(test_numeric)),
            indicator.transform(test_numeric),
            onehot.transform(filler.transform(test_categorical)),
        ]
    )
    reference = LogisticRegression(C=1.0, max_iter=1000).fit(x_train, train_labels)
    return list(reference.predict_proba(x_test)[:, 1])


@pytest.fixture(scope="module")
def small() -> tuple[Rows, list[int], TrainedModel]:
    rows, labels = crm_outcomes(3000, seed=11)
    return rows, labels, train(rows, labels)


@pytest.fixture(scope="module")
def large_split() -> tuple[Rows, list[int], Rows, list[int], TrainedModel]:
    rows, labels = crm_outcomes(30_000, seed=3)
    fit_idx, test_idx = stratified_split(labels, test_fraction=0.3, seed=0)
    model = train(pick(rows, fit_idx), pick(labels, fit_idx))
    return pick(rows, fit_idx), pick(labels, fit_idx), pick(rows, test_idx), pick(labels, test_idx), model


# --- learning -----------------------------------------------------------------------


def test_given_known_signal_when_trained_then_auc_matches_sklearn_within_0_01() -> None:
    rows, labels = crm_outcomes(6000)
    fit_idx, test_idx = stratified_split(labels, test_fraction=0.3, seed=0)
    train_rows, train_labels = pick(rows, fit_idx), pick(labels, fit_idx)
    test_rows, test_labels = pick(rows, test_idx), pick(labels, test_idx)

    ours = train(train_rows, train_labels).predict_many(test_rows)
    theirs = sklearn_probabilities(train_rows, train_labels, test_rows)

    ours_auc, theirs_auc = roc_auc_score(test_labels, ours), roc_auc_score(test_labels, theirs)
    assert abs(ours_auc - theirs_auc) <= 0.01
    assert ours_auc > 0.7


def test_given_same_encoded_features_when_fitted_then_coefficients_match_sklearn_objective() -> None:
    rows, labels = crm_outcomes(2000, seed=5)
    model = train(rows, labels)
    dense = np.zeros((len(rows), len(model.feature_names)))
    for i, row in enumerate(rows):
        for j, value in model.encode(row).items():
            dense[i, j] = value

    reference = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-10, max_iter=200).fit(dense, labels)

    np.testing.assert_allclose(model.coefficients, reference.coef_[0], atol=1e-5)
    assert model.intercept == pytest.approx(reference.intercept_[0], abs=1e-5)


def test_given_large_sample_when_scored_on_holdout_then_mean_prediction_matches_observed_rate(
    large_split: tuple[Rows, list[int], Rows, list[int], TrainedModel],
) -> None:
    _, _, test_rows, test_labels, model = large_split
    predicted = model.predict_many(test_rows)

    observed = sum(test_labels) / len(test_labels)
    assert sum(predicted) / len(predicted) == pytest.approx(observed, abs=0.02)
    for row in calibration_table(test_labels, predicted):
        if row.count >= 300:
            assert row.mean_predicted == pytest.approx(row.observed_rate, abs=0.05)


def test_given_large_sample_when_scored_on_holdout_then_brier_beats_constant_baseline(
    large_split: tuple[Rows, list[int], Rows, list[int], TrainedModel],
) -> None:
    _, train_labels, test_rows, test_labels, model = large_split
    base_rate = sum(train_labels) / len(train_labels)

    model_brier = brier_score(test_labels, model.predict_many(test_rows))
    baseline_brier = brier_score(test_labels, [base_rate] * len(test_labels))

    assert model_brier < baseline_brier - 0.01


def test_given_signal_when_calibrated_then_slope_is_positive_and_model_counts_recorded(
    small: tuple[Rows, list[int], TrainedModel],
) -> None:
    rows, labels, model = small
    assert model.calibration.a > 0
    assert model.trained_rows == len(rows)
    assert model.positives == sum(labels)


def test_given_no_signal_when_trained_then_predicts_close_to_base_rate() -> None:
    rng = random.Random(2)
    rows: Rows = [{"noise": rng.random(), "colour": rng.choice("rgb")} for _ in range(600)]
    labels = [int(rng.random() < 0.3) for _ in rows]

    model = train(rows, labels)

    rate = sum(labels) / len(labels)
    assert all(abs(p - rate) < 0.1 for p in model.predict_many(rows))


def test_given_one_class_only_when_trained_then_not_enough_data() -> None:
    rows: Rows = [{"source": "a", "message_count": float(i)} for i in range(10)]
    with pytest.raises(NotEnoughData):
        train(rows, [1] * 10)
    with pytest.raises(NotEnoughData):
        train([], [])


def test_given_one_row_of_a_class_when_trained_then_model_still_fits() -> None:
    rows: Rows = [{"message_count": float(i)} for i in range(20)]

    model = train(rows, [1] + [0] * 19)

    assert 0.0 < model.predict({"message_count": 3.0}) < 0.5


def test_given_non_binary_labels_when_trained_then_value_error() -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        train([{"x": 1.0}, {"x": 2.0}], [0, 2])


# --- encoding -----------------------------------------------------------------------


def test_given_numbers_as_strings_when_trained_then_column_is_numeric_and_mixed_text_is_categorical() -> None:
    rows: Rows = [{"count": str(i), "code": str(i) if i % 2 else "x", "empty": "", "gone": None} for i in range(40)]
    labels = [i % 2 for i in range(40)]

    model = train(rows, labels)

    kinds = {column.name: type(column) for column in model.columns}
    # Columns with no value at all carry nothing to learn and are left out.
    assert kinds == {"count": NumericColumn, "code": CategoricalColumn}


def test_given_numeric_blanks_in_training_when_encoded_then_missing_indicator_and_mean_imputation(
    small: tuple[Rows, list[int], TrainedModel],
) -> None:
    _, _, model = small
    assert "message_count missing" in model.feature_names
    assert "appeals_count missing" not in model.feature_names

    blank = model.contributions({"message_count": None})
    garbled = model.contributions({"message_count": "not a number"})

    encoded = model.encode({"message_count": None})
    assert encoded[model.feature_names.index("message_count missing")] == 1.0
    assert model.feature_names.index("message_count") not in encoded
    assert blank == garbled
    # Imputed with the training mean, so the value itself pushes nothing.
    assert blank["message_count"] == 0.0


def test_given_unseen_category_when_predicted_then_uses_rare_bucket_without_error(
    small: tuple[Rows, list[int], TrainedModel],
) -> None:
    rows, _, model = small
    one_off = next(row["business_domain"] for row in rows if str(row["business_domain"]).startswith("one_off"))
    base = {"source": "src_a", "message_count": 3.0, "appeals_count": 0.0, "days_since_created": 2.0}

    unseen = {**base, "business_domain": "never-seen-before", "source": "src_zzz"}
    rare = {**base, "business_domain": one_off, "source": "src_zzz"}

    assert model.predict(unseen) == model.predict(rare)
    rare_feature = f"business_domain={RARE}"
    assert rare_feature in model.feature_names
    assert model.encode(unseen)[model.feature_names.index(rare_feature)] == 1.0
    # Every source is common, so an unknown one has no bucket and pushes only
    # by not being any of the known ones.
    assert f"source={RARE}" not in model.feature_names


def test_given_blank_cells_when_predicted_then_blank_category_and_empty_row_both_score(
    small: tuple[Rows, list[int], TrainedModel],
) -> None:
    _, _, model = small
    assert f"business_domain={BLANK}" in model.feature_names

    empty_row = model.predict({})
    spelled_out = model.predict(
        {"source": "", "business_domain": None, "message_count": "  ", "appeals_count": None, "days_since_created": ""}
    )

    assert 0.0 < empty_row < 1.0
    assert spelled_out == empty_row


def test_given_many_frequent_categories_when_trained_then_capped_with_rest_in_rare() -> None:
    rows: Rows = [{"city": f"city_{i % 80:02d}", "n": float(i % 7)} for i in range(80 * 10)]
    labels = [int(i % 3 == 0) for i in range(len(rows))]

    model = train(rows, labels)

    (city,) = [column for column in model.columns if isinstance(column, CategoricalColumn)]
    assert len(city.categories) == MAX_CATEGORIES + 1
    assert city.categories[-1] == RARE


def test_given_float_and_text_spellings_of_a_number_when_categorical_then_same_category() -> None:
    spellings: list[Value] = [3.0, "3", "gold"]
    rows: Rows = [{"plan": spellings[i % 3]} for i in range(60)]
    labels = [int(i % 6 < 2) for i in range(60)]

    model = train(rows, labels)

    assert model.feature_names == ["plan=3", "plan=gold"]
    assert model.predict({"plan": 3.0}) == model.predict({"plan": "3"}) == model.predict({"plan": " 3 "})
    assert model.predict({"plan": "gold"}) != model.predict({"plan": 3.0})


# --- the stored model ---------------------------------------------------------------


def test_given_trained_model_when_json_round_tripped_then_identical_and_predictions_equal(
    small: tuple[Rows, list[int], TrainedModel],
) -> None:
    rows, _, model = small
    body = model.model_dump_json()

    restored = TrainedModel.model_validate_json(body)

    assert restored == model
    assert restored.model_dump_json() == body
    assert restored.predict_many(rows[:500]) == model.predict_many(rows[:500])
    assert len(body.encode()) < 300_000


def test_given_crm_shaped_model_when_serialised_then_far_below_dynamodb_item_limit() -> None:
    # Worst case for size: every categorical column at the category cap.
    rng = random.Random(4)
    rows: Rows = [{f"cat_{k}": f"v{rng.randrange(60)}" for k in range(5)} | {"n": rng.random()} for _ in range(4000)]
    labels = [int(rng.random() < 0.4) for _ in rows]

    body = train(rows, labels).model_dump_json()

    assert len(body.encode()) < 60_000


def test_given_row_when_explained_then_contributions_plus_base_reproduce_prediction_logit(
    small: tuple[Rows, list[int], TrainedModel],
) -> None:
    rows, _, model = small
    for row in [*rows[:50], {}, {"business_domain": "brand-new", "message_count": "12"}]:
        probability = model.predict(row)
        explained = model.base_log_odds + sum(model.contributions(row).values())
        assert explained == pytest.approx(math.log(probability / (1 - probability)), abs=1e-9)


def test_given_model_when_explained_then_feature_names_are_readable(
    small: tuple[Rows, list[int], TrainedModel],
) -> None:
    _, _, model = small
    contributions = model.contributions({"source": "src_b", "business_domain": "domain_00", "message_count": 19.0})

    assert set(contributions) == set(model.feature_names)
    assert {"message_count", "message_count missing", "source=src_b", "business_domain=domain_00"} <= set(contributions)
    # More messages raised the odds in the generating process.
    assert contributions["message_count"] > 0


def test_given_stored_model_when_scored_in_fresh_interpreter_then_numpy_is_never_imported(
    small: tuple[Rows, list[int], TrainedModel],
) -> None:
    _, _, model = small
    script = (
        "import sys, json\n"
        "from chalicelib.scoring.trainer import TrainedModel\n"
        "model = TrainedModel.model_validate_json(sys.stdin.read())\n"
        "row = {'source': 'src_a', 'business_domain': None, 'message_count': 4.0}\n"
        "print(json.dumps([model.predict(row), 'numpy' in sys.modules]))\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", script],
        input=model.model_dump_json(),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )

    probability, numpy_loaded = json.loads(done.stdout)
    assert probability == model.predict({"source": "src_a", "business_domain": None, "message_count": 4.0})
    assert numpy_loaded is False


# --- splitting ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(labels=st.lists(st.integers(0, 1), min_size=1, max_size=300), seed=st.integers(0, 5))
def test_given_labels_when_split_then_partition_is_deterministic_and_stratified(labels: list[int], seed: int) -> None:
    fit_idx, test_idx = stratified_split(labels, test_fraction=0.3, seed=seed)

    assert (fit_idx, test_idx) == stratified_split(labels, test_fraction=0.3, seed=seed)
    assert sorted(fit_idx + test_idx) == list(range(len(labels)))
    for cls in (0, 1):
        members = labels.count(cls)
        in_test = sum(1 for i in test_idx if labels[i] == cls)
        if members >= 2:
            assert 1 <= in_test <= members - 1
            assert abs(in_test - 0.3 * members) <= 1
        else:
            assert in_test == 0


# --- metrics against scikit-learn ---------------------------------------------------

# A coarse grid of scores, so most draws are full of ties.
tied_scores = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5000001, 0.75, 0.9, 1.0])


@settings(max_examples=100, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 1), tied_scores | st.floats(0, 1)), min_size=2, max_size=200))
def test_given_random_scores_with_ties_when_measured_then_auc_and_brier_match_sklearn(
    pairs: list[tuple[int, float]],
) -> None:
    labels = [label for label, _ in pairs]
    scores = [score for _, score in pairs]

    assert brier_score(labels, scores) == pytest.approx(brier_score_loss(labels, scores), abs=1e-12)
    if 0 < sum(labels) < len(labels):
        assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_given_random_scores_when_tabulated_then_bin_counts_sum_to_n_and_empty_bins_listed() -> None:
    rng = random.Random(9)
    scores = [rng.uniform(0.0, 0.55) for _ in range(997)] + [1.0, 0.3, 0.7]
    labels = [int(rng.random() < s) for s in scores]

    table = calibration_table(labels, scores, bins=10)

    assert len(table) == 10
    assert sum(row.count for row in table) == len(scores)
    assert (table[0].lower, table[0].upper) == (0.0, 0.1)
    assert table[-1].count == 1  # 1.0 belongs to the last bin
    empty = [row for row in table if row.count == 0]
    assert empty and all(row.mean_predicted is None and row.observed_rate is None for row in empty)
    for row in table:
        if row.count:
            assert row.lower <= row.mean_predicted <= row.upper


def test_given_one_class_when_auc_measured_then_value_error() -> None:
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([1, 1, 1], [0.2, 0.5, 0.9])


def test_GIVEN_a_lead_WHEN_explained_per_column_THEN_it_names_its_own_values_and_adds_up() -> None:
    rows = [{"source": f"s{i % 4}", "n": float(i % 7)} for i in range(400)]
    labels = [int(row["source"] in ("s0", "s1") or row["n"] > 4) for row in rows]
    model = train(rows, labels)
    lead = {"source": "s0", "n": 6.0}

    by_column = model.column_contributions(lead)

    assert set(by_column) == {"source=s0", "n"}
    assert by_column["source=s0"] > 0 and by_column["n"] > 0
    assert model.base_log_odds + sum(by_column.values()) == pytest.approx(model.log_odds(lead))
    # Every source was common, so there is no rare bucket: an unseen one matches no category.
    assert set(model.column_contributions({"source": "never-seen"})) == {"source", "n"}


@pytest.mark.parametrize(
    ("rows", "threshold"),
    [(10, 1), (100, 1), (399, 1), (400, 2), (500, 2), (999, 4), (1000, 5), (100_000, 5)],
)
def test_given_a_training_size_when_defaulting_rare_min_count_then_few_rows_keep_rarer_values(
    rows: int, threshold: int
) -> None:
    assert default_rare_min_count(rows) == threshold


def test_given_a_small_sample_when_trained_then_a_value_seen_twice_keeps_its_own_feature() -> None:
    rows: Rows = [{"city": "kyiv" if i < 2 else f"city_{i % 4}"} for i in range(100)]
    labels = [int(i % 2 == 0 or i < 2) for i in range(100)]

    model = train(rows, labels)

    assert model.rare_min_count == 1
    assert "city=kyiv" in model.feature_names
