"""ferkit.evaluation.fairness: per-group tables, disparities, bootstrap intervals, mitigation."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ferkit.evaluation import fairness as fair
from ferkit.evaluation.fairness.bootstrap import _resampled_scores
from ferkit.evaluation.metrics import summary

CLASSES = ["anger", "happy", "neutral", "sadness"]
TOL = 1e-12


def biased_predictions(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Labels, predictions that are worse for ``race == "black"``, and race / gender groups."""
    rng = np.random.default_rng(seed)
    groups = pd.DataFrame({
        "race": rng.choice(["asian", "black", "white"], n, p=[0.2, 0.3, 0.5]),
        "gender": rng.choice(["female", "male"], n),
    })
    y_true = rng.integers(0, len(CLASSES), n)
    hit_rate = np.where(groups["race"] == "black", 0.55, 0.85)
    y_pred = np.where(rng.random(n) < hit_rate, y_true, rng.integers(0, len(CLASSES), n))
    return y_true, y_pred, groups


def row(frame: pd.DataFrame, attribute: str, group: str) -> pd.Series:
    match = frame[(frame["attribute"] == attribute) & (frame["group"] == group)]
    assert len(match) == 1, f"expected one row for {attribute}={group}, got {len(match)}"
    return match.iloc[0]


def assert_scores_equal(table_row: pd.Series, expected: dict[str, float]) -> None:
    for metric in fair.METRICS:
        assert table_row[metric] == pytest.approx(expected[metric], abs=TOL), metric


# --------------------------------------------------------------------------- group_metrics
def test_group_rows_equal_summary_on_masked_subsets():
    y_true, y_pred, groups = biased_predictions()
    table = fair.group_metrics(y_true, y_pred, groups, CLASSES)
    assert list(table.columns) == list(fair.GROUP_COLUMNS)
    for attribute in ("race", "gender"):
        levels = sorted(groups[attribute].unique())
        rows = table[table["attribute"] == attribute]
        assert list(rows["group"]) == levels + ["average", "overall"]
        for level in levels:
            mask = (groups[attribute] == level).to_numpy()
            assert row(table, attribute, level)["n_images"] == mask.sum()
            assert_scores_equal(row(table, attribute, level), summary(y_true[mask], y_pred[mask], CLASSES))
        assert_scores_equal(row(table, attribute, "overall"), summary(y_true, y_pred, CLASSES))
        group_means = rows[rows["group"].isin(levels)][list(fair.METRICS)].mean()
        assert_scores_equal(row(table, attribute, "average"), group_means.to_dict())
        assert row(table, attribute, "average")["n_images"] == len(y_true)


def test_injected_bias_shows_up_as_the_worst_group():
    y_true, y_pred, groups = biased_predictions()
    gaps = fair.disparities(fair.group_metrics(y_true, y_pred, groups, CLASSES))
    race_accuracy = gaps[(gaps["attribute"] == "race") & (gaps["metric"] == "accuracy")].iloc[0]
    assert race_accuracy["worst_group"] == "black"
    assert race_accuracy["difference"] > 0.15


def test_intersectional_groups_are_every_pair_and_match_masks():
    y_true, y_pred, groups = biased_predictions()
    groups = groups.assign(age=np.where(np.arange(len(groups)) % 3 == 0, "older", "young"))
    table = fair.group_metrics(y_true, y_pred, groups, CLASSES, intersectional=True)
    assert list(dict.fromkeys(table["attribute"])) == [
        "race", "gender", "age", "race×gender", "race×age", "gender×age"]
    combined = table[table["attribute"] == "race×gender"]
    assert list(combined["group"])[:3] == ["asian×female", "asian×male", "black×female"]
    assert len(combined) == 3 * 2 + 2
    mask = ((groups["race"] == "black") & (groups["gender"] == "male")).to_numpy()
    assert_scores_equal(row(table, "race×gender", "black×male"), summary(y_true[mask], y_pred[mask], CLASSES))


def test_intersection_that_never_occurs_gets_an_empty_row():
    y_true = np.array([0, 1, 1, 0])
    groups = pd.DataFrame({"race": ["a", "a", "b", "b"], "gender": ["f", "m", "f", "f"]})
    table = fair.group_metrics(y_true, y_true, groups, CLASSES[:2], intersectional=True)
    empty = row(table, "race×gender", "b×m")
    assert empty["n_images"] == 0 and np.isnan(empty["accuracy"])


def test_series_input_and_declared_category_order():
    y_true, y_pred, groups = biased_predictions(n=200)
    race = pd.Series(pd.Categorical(groups["race"], categories=["white", "black", "asian"]), name="race")
    table = fair.group_metrics(y_true, y_pred, race, CLASSES)
    assert list(table["group"]) == ["white", "black", "asian", "average", "overall"]
    unnamed = fair.group_metrics(y_true, y_pred, pd.Series(groups["race"].to_numpy()), CLASSES)
    assert set(unnamed["attribute"]) == {"group"}


def test_attributes_picks_columns_from_a_wider_frame():
    y_true, y_pred, groups = biased_predictions(n=100)
    table = fair.group_metrics(y_true, y_pred, groups.assign(label=y_true), CLASSES, attributes=["gender"])
    assert set(table["attribute"]) == {"gender"}


def test_unused_category_is_a_nan_row_left_out_of_the_average():
    y_true, y_pred, groups = biased_predictions(n=200)
    gender = pd.Categorical(groups["gender"], categories=["female", "male", "nonbinary"])
    table = fair.group_metrics(y_true, y_pred, pd.DataFrame({"gender": gender}), CLASSES)
    empty = row(table, "gender", "nonbinary")
    assert empty["n_images"] == 0
    assert all(np.isnan(empty[metric]) for metric in fair.METRICS)
    filled = table[table["group"].isin(["female", "male"])]
    assert row(table, "gender", "average")["accuracy"] == pytest.approx(filled["accuracy"].mean())
    gaps = fair.disparities(table)
    assert set(gaps["n_groups"]) == {2}


def test_unused_category_raises_when_asked():
    y_true, y_pred, groups = biased_predictions(n=50)
    gender = pd.DataFrame({"gender": pd.Categorical(groups["gender"], categories=["female", "male", "x"])})
    with pytest.raises(ValueError, match=r"'gender' has declared group\(s\) with no samples: \['x'\]"):
        fair.group_metrics(y_true, y_pred, gender, CLASSES, empty_groups="raise")
    with pytest.raises(ValueError, match="empty_groups must be one of"):
        fair.group_metrics(y_true, y_pred, gender, CLASSES, empty_groups="drop")


@pytest.mark.parametrize("groups, message", [
    (pd.DataFrame({"race": ["a"] * 9}), r"groups has 9 rows but y_true has 10 labels"),
    (pd.DataFrame({"race": ["a", None] * 5}), r"column 'race' has 5 missing \(NaN\) value"),
    (pd.DataFrame({"race": ["a", "overall"] * 5}), r"reserved group name\(s\) \['overall'\]"),
    (pd.DataFrame({"race": [1, "1"] * 5}), r"groups that read the same as text: \['1'\]"),
    ([0, 1] * 5, r"groups must be a pandas DataFrame or Series"),
])
def test_group_metrics_errors(groups, message):
    labels = np.zeros(10, dtype=int)
    with pytest.raises((ValueError, TypeError), match=message):
        fair.group_metrics(labels, labels, groups, CLASSES)


def test_missing_attribute_lists_available_columns():
    labels = np.zeros(4, dtype=int)
    groups = pd.DataFrame({"race": list("abab"), "gender": list("ffmm")})
    with pytest.raises(ValueError, match=r"no column\(s\) \['age'\]; available columns: \['race', 'gender'\]"):
        fair.group_metrics(labels, labels, groups, CLASSES, attributes=["age"])


def test_label_errors_come_from_metrics():
    groups = pd.DataFrame({"race": list("abab")})
    with pytest.raises(ValueError, match="y_true has 4 labels but y_pred has 3"):
        fair.group_metrics([0, 1, 0, 1], [0, 1, 0], groups, CLASSES)


# --------------------------------------------------------------------------- disparities
def test_disparities_min_max_difference_ratio_and_groups():
    table = pd.DataFrame({
        "attribute": ["race"] * 5,
        "group": ["a", "b", "c", "average", "overall"],
        "n_images": [10, 10, 10, 30, 30],
        "accuracy": [0.6, 0.9, 0.9, 0.8, 0.95],
        "macro_f1": [0.0, 0.0, 0.0, 0.0, 0.0],
    })
    gaps = fair.disparities(table).set_index("metric")
    accuracy = gaps.loc["accuracy"]
    assert (accuracy["min"], accuracy["max"]) == (0.6, 0.9)
    assert accuracy["difference"] == pytest.approx(0.3)
    assert accuracy["ratio"] == pytest.approx(0.6 / 0.9)
    assert (accuracy["worst_group"], accuracy["best_group"]) == ("a", "b")  # tie: first in order
    assert accuracy["n_groups"] == 3
    assert np.isnan(gaps.loc["macro_f1", "ratio"]) and gaps.loc["macro_f1", "difference"] == 0


def test_disparities_rejects_other_frames():
    with pytest.raises(ValueError, match=r"no column\(s\) \['attribute', 'group'\]"):
        fair.disparities(pd.DataFrame({"accuracy": [0.5]}))
    with pytest.raises(ValueError, match="none of the metric columns"):
        fair.disparities(pd.DataFrame({"attribute": ["a"], "group": ["b"], "n_images": [1]}))


# --------------------------------------------------------------------------- bootstrap
@pytest.mark.parametrize("metric", fair.METRICS)
def test_vectorised_resample_scores_equal_summary(metric):
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 4, 40)
    y_pred = np.where(rng.random(40) < 0.6, y_true, rng.integers(0, 4, 40))
    resamples = rng.integers(0, 40, size=(25, 40))
    scores = _resampled_scores(y_true, y_pred, resamples, len(CLASSES), metric)
    expected = [summary(y_true[r], y_pred[r], CLASSES)[metric] for r in resamples]
    np.testing.assert_allclose(scores, expected, atol=TOL)


def test_interval_estimates_equal_group_metrics_and_bracket_them():
    y_true, y_pred, groups = biased_predictions()
    table = fair.group_metrics(y_true, y_pred, groups, CLASSES)
    for metric in ("accuracy", "macro_f1"):
        intervals = fair.bootstrap_group_ci(y_true, y_pred, groups, CLASSES, metric, n_boot=200, seed=3)
        assert list(intervals["metric"].unique()) == [metric]
        for item in intervals.itertuples():
            assert item.estimate == pytest.approx(row(table, item.attribute, item.group)[metric], abs=TOL)
            assert item.lower <= item.estimate <= item.upper


def test_bootstrap_is_reproducible_and_seed_dependent():
    y_true, y_pred, groups = biased_predictions(n=200)
    first = fair.bootstrap_group_ci(y_true, y_pred, groups, CLASSES, n_boot=100, seed=7)
    again = fair.bootstrap_group_ci(y_true, y_pred, groups, CLASSES, n_boot=100, seed=7)
    other = fair.bootstrap_group_ci(y_true, y_pred, groups, CLASSES, n_boot=100, seed=8)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["lower"], other["lower"])


def test_bootstrap_empty_group_is_nan():
    y_true, y_pred, groups = biased_predictions(n=100)
    gender = pd.Series(pd.Categorical(groups["gender"], categories=["female", "male", "x"]), name="gender")
    intervals = fair.bootstrap_group_ci(y_true, y_pred, gender, CLASSES, n_boot=50).set_index("group")
    assert intervals.loc["x", "n_images"] == 0 and np.isnan(intervals.loc["x", "upper"])


def coverage_case(p: float = 0.7, n: int = 200, experiments: int = 200):
    """Each experiment is one group whose predictions are right with probability ``p``."""
    rng = np.random.default_rng(2024)
    y_true = rng.integers(0, 2, n * experiments)
    correct = rng.random(n * experiments) < p
    y_pred = np.where(correct, y_true, 1 - y_true)
    experiment = pd.Series(np.repeat([f"e{k:03d}" for k in range(experiments)], n), name="experiment")
    return y_true, y_pred, experiment


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_bootstrap_interval_covers_the_true_value_at_about_the_nominal_rate(metric):
    # Balanced classes and symmetric errors: accuracy, and both per-class F1 scores, equal p.
    p = 0.7
    y_true, y_pred, experiment = coverage_case(p)
    intervals = fair.bootstrap_group_ci(y_true, y_pred, experiment, ["a", "b"], metric,
                                        n_boot=300, confidence=0.90, seed=0)
    assert len(intervals) == 200
    covered = ((intervals["lower"] <= p) & (p <= intervals["upper"])).mean()
    assert 0.82 <= covered <= 0.96, f"90% interval covered p in {covered:.2f} of experiments"


@pytest.mark.parametrize("kwargs, message", [
    ({"metric": "auc"}, "metric must be one of"),
    ({"n_boot": 0}, "n_boot must be a positive int"),
    ({"confidence": 1.0}, "confidence must be between 0 and 1"),
])
def test_bootstrap_setting_errors(kwargs, message):
    y_true, y_pred, groups = biased_predictions(n=20)
    with pytest.raises(ValueError, match=message):
        fair.bootstrap_group_ci(y_true, y_pred, groups, CLASSES, **kwargs)


# --------------------------------------------------------------------------- report and plots
def predictions_frame(n: int = 300) -> pd.DataFrame:
    y_true, y_pred, groups = biased_predictions(n)
    return groups.assign(label=y_true, predicted=y_pred, p_anger=0.25)


def test_fairness_report_tables_and_files(tmp_path):
    report = fair.fairness_report(predictions_frame(), ["race", "gender"], CLASSES, n_boot=50)
    assert set(report.intervals["metric"]) == {"accuracy", "macro_f1"}
    pd.testing.assert_frame_equal(report.disparities, fair.disparities(report.by_group))
    out = report.write(tmp_path / "fair")
    for name in ("fairness_by_group.csv", "fairness_disparities.csv", "fairness_intervals.csv",
                 "fairness.md", "fairness.json", "plots/fairness_accuracy.png", "plots/fairness_macro_f1.png"):
        assert (out / name).is_file(), name
    stored = json.loads((out / "fairness.json").read_text())
    assert len(stored["by_group"]) == len(report.by_group)
    assert pd.read_csv(out / "fairness_by_group.csv").shape == report.by_group.shape
    assert "| race | black |" in (out / "fairness.md").read_text()


def test_fairness_report_json_writes_empty_groups_as_null(tmp_path):
    frame = predictions_frame(60)
    frame["gender"] = pd.Categorical(frame["gender"], categories=["female", "male", "x"])
    out = fair.fairness_report(frame, "gender", CLASSES, n_boot=20).write(tmp_path)
    stored = json.loads((out / "fairness.json").read_text())
    empty = [r for r in stored["by_group"] if r["group"] == "x"][0]
    assert empty["accuracy"] is None and empty["n_images"] == 0


def test_fairness_report_missing_columns():
    with pytest.raises(ValueError, match=r"predictions_frame has no column\(s\) \['age'\]; available"):
        fair.fairness_report(predictions_frame(20), ["race", "age"], CLASSES)
    with pytest.raises(ValueError, match="attributes is empty"):
        fair.fairness_report(predictions_frame(20), [], CLASSES)


def test_plot_functions_write_png(tmp_path):
    y_true, y_pred, groups = biased_predictions(200)
    before = fair.group_metrics(y_true, y_pred, groups, CLASSES)
    after = fair.group_metrics(y_true, y_true, groups, CLASSES)
    path = fair.plot_mitigation_comparison(before, after, tmp_path / "cmp.png", metric="macro_f1")
    assert path.read_bytes()[:4] == b"\x89PNG"
    path = fair.plot_group_metrics(before, tmp_path / "bars.png", metric="macro_recall")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="metric must be one of"):
        fair.plot_group_metrics(before, tmp_path / "x.png", metric="auc")


# --------------------------------------------------------------------------- compare_mitigation
def test_compare_mitigation_changes_and_disparity_rows():
    y_true, y_pred, groups = biased_predictions()
    before = fair.group_metrics(y_true, y_pred, groups, CLASSES)
    after = fair.group_metrics(y_true, np.where(groups["race"] == "black", y_true, y_pred), groups, CLASSES)
    comparison = fair.compare_mitigation(before, after)
    assert list(comparison.columns) == ["attribute", "group", "metric", "before", "after", "change"]
    black = comparison[(comparison["group"] == "black") & (comparison["metric"] == "accuracy")].iloc[0]
    assert black["before"] == row(before, "race", "black")["accuracy"]
    assert black["after"] == 1.0
    assert black["change"] == pytest.approx(black["after"] - black["before"])
    race_accuracy = comparison[(comparison["attribute"] == "race") & (comparison["metric"] == "accuracy")]
    assert list(race_accuracy["group"]) == ["asian", "black", "white", "average", "overall",
                                            fair.DIFFERENCE_ROW, fair.RATIO_ROW]
    gap = race_accuracy.set_index("group").loc[fair.DIFFERENCE_ROW]
    before_gap = fair.disparities(before).set_index(["attribute", "metric"]).loc[("race", "accuracy"), "difference"]
    assert gap["before"] == pytest.approx(before_gap)
    assert list(dict.fromkeys(comparison["attribute"])) == ["race", "gender"]


def test_compare_mitigation_group_on_one_side_only():
    y_true, y_pred, groups = biased_predictions(200)
    before = fair.group_metrics(y_true, y_pred, groups, CLASSES)
    keep = (groups["race"] != "white").to_numpy()
    after = fair.group_metrics(y_true[keep], y_pred[keep], groups[keep], CLASSES)
    comparison = fair.compare_mitigation(before, after)
    white = comparison[(comparison["group"] == "white") & (comparison["metric"] == "n_images")].iloc[0]
    assert white["before"] > 0 and np.isnan(white["after"]) and np.isnan(white["change"])


# --------------------------------------------------------------------------- rebalance
def training_frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 240
    return pd.DataFrame({
        "path": [f"img{k}.png" for k in range(n)],
        "race": rng.choice(["asian", "black", "white"], n, p=[0.15, 0.25, 0.6]),
        "label": rng.integers(0, 3, n),
    })


def test_oversample_makes_cells_equal_and_marks_copies():
    frame = training_frame()
    balanced = fair.rebalance(frame, ["race"], "label", seed=1)
    sizes = balanced.groupby(["race", "label"]).size()
    largest = frame.groupby(["race", "label"]).size().max()
    assert set(sizes) == {largest}
    original = balanced[~balanced["resampled"]]
    pd.testing.assert_frame_equal(original.drop(columns="resampled"), frame)
    copies = balanced[balanced["resampled"]]
    assert set(copies["path"]) <= set(frame["path"])
    report = balanced.attrs["rebalance_report"]
    assert list(report.columns) == ["race", "label", "before", "after", "change"]
    assert report["change"].sum() == len(copies)
    assert (report["after"] == largest).all()


def test_oversample_copies_rows_evenly_within_a_cell():
    frame = pd.DataFrame({"g": ["a"] * 2 + ["b"] * 7, "label": 0, "path": list("xyzzzzzzz")})
    balanced = fair.rebalance(frame, "g", "label")
    copies_per_row = balanced[balanced["resampled"]]["path"].value_counts()
    assert sorted(copies_per_row) == [2, 3]  # 5 copies spread over 2 rows


def test_rebalance_to_target_and_undersample():
    frame = training_frame()
    raised = fair.rebalance(frame, "race", "label", target=40)
    sizes = raised.groupby(["race", "label"]).size()
    original_sizes = frame.groupby(["race", "label"]).size()
    assert (sizes == np.maximum(original_sizes, 40)).all()
    reduced = fair.rebalance(frame, "race", "label", strategy="undersample", seed=2)
    assert set(reduced.groupby(["race", "label"]).size()) == {original_sizes.min()}
    assert not reduced["resampled"].any() and set(reduced["path"]) <= set(frame["path"])


def test_empty_cell_is_reported_not_filled():
    frame = pd.DataFrame({"race": ["a", "a", "a", "b"], "label": [0, 0, 1, 0]})
    balanced = fair.rebalance(frame, "race", "label")
    report = balanced.attrs["rebalance_report"].set_index(["race", "label"])
    assert report.loc[("b", 1)].tolist() == [0, 0, 0]
    assert report.loc[("b", 0)].tolist() == [1, 2, 1]
    assert len(balanced) == 6


def test_rebalance_plan_does_not_touch_data_and_keeps_existing_marks():
    frame = training_frame().assign(resampled=lambda f: np.arange(len(f)) < 3)
    plan = fair.rebalance_plan(frame, "race")
    assert plan["after"].eq(plan["before"].max()).all()
    again = fair.rebalance(frame, "race", "label")
    assert again["resampled"].iloc[:3].all()


@pytest.mark.parametrize("kwargs, message", [
    ({"group_columns": ["age"]}, r"frame has no column\(s\) \['age'\]; available columns: \['path', 'race', 'label'\]"),
    ({"group_columns": [], "label_column": None}, "no columns to balance"),
    ({"group_columns": ["race"], "strategy": "smote"}, "strategy must be one of"),
    ({"group_columns": ["race"], "target": 0}, "target must be a positive int"),
    ({"group_columns": ["label"]}, r"columns listed twice: \['label'\]"),
])
def test_rebalance_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fair.rebalance(training_frame(), **kwargs)


def test_rebalance_rejects_missing_group_values():
    frame = training_frame()
    frame.loc[3, "race"] = None
    with pytest.raises(ValueError, match=r"column 'race' has 1 missing \(NaN\) value"):
        fair.rebalance(frame, "race")


# --------------------------------------------------------------------------- group_weights
def test_group_weights_are_inverse_frequency_with_mean_one():
    frame = training_frame()
    weights = fair.group_weights(frame, "race")
    assert weights.name == "sample_weight" and weights.index.equals(frame.index)
    assert weights.mean() == pytest.approx(1.0)
    counts = frame["race"].map(frame["race"].value_counts())
    np.testing.assert_allclose(weights * counts, (weights * counts).iloc[0])  # weight ∝ 1 / count
    totals = weights.groupby(frame["race"]).sum()
    np.testing.assert_allclose(totals, len(frame) / 3)


def test_group_weights_by_group_and_class_and_unnormalised():
    frame = training_frame()
    weights = fair.group_weights(frame, ["race"], label_column="label", normalize=False)
    counts = frame.groupby(["race", "label"])["path"].transform("size")
    np.testing.assert_allclose(weights, 1.0 / counts)
    normalised = fair.group_weights(frame, ["race"], label_column="label")
    totals = normalised.groupby([frame["race"], frame["label"]]).sum()
    np.testing.assert_allclose(totals, totals.iloc[0])
    assert normalised.mean() == pytest.approx(1.0)


def test_group_weights_errors():
    with pytest.raises(ValueError, match=r"frame has no column\(s\) \['skin'\]"):
        fair.group_weights(training_frame(), "skin")
    with pytest.raises(ValueError, match="frame is empty"):
        fair.group_weights(training_frame().iloc[:0], "race")
