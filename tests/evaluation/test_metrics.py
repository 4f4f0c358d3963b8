"""ferkit.evaluation.metrics against scikit-learn, plus input checks and plots."""
from __future__ import annotations

import json
import warnings

import matplotlib
import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from ferkit.evaluation import metrics as fm
from ferkit.evaluation import plots

TOL = 1e-9
SEEDS = range(12)
EMOTIONS = ["anger", "disgust", "fear", "happy", "sadness", "surprise", "neutral"]


# --------------------------------------------------------------------------- random cases
def _random_single_label(seed: int, n_classes: int | None = None, ties: bool = False, min_classes: int = 2):
    """Random labels, noisy predictions and softmax scores; some classes may be missing."""
    rng = np.random.default_rng(seed)
    n_classes = n_classes or int(rng.integers(min_classes, 8))
    n = int(rng.integers(8, 300))  # small n leaves some classes unpredicted (zero division)
    y_true = rng.integers(0, n_classes, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, n_classes, n))
    logits = rng.normal(size=(n, n_classes)) + 2.0 * np.eye(n_classes)[y_true]
    if ties:
        logits = np.round(logits)
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    names = [f"c{k}" for k in range(n_classes)]
    return y_true, y_pred, scores, names


def _random_multilabel(seed: int):
    rng = np.random.default_rng(seed)
    # at least 2 labels: scikit-learn reads a one-column indicator matrix as binary, not multilabel
    n, n_labels = int(rng.integers(10, 200)), int(rng.integers(2, 9))
    y_true = (rng.random((n, n_labels)) < rng.uniform(0.05, 0.6, n_labels)).astype(int)
    y_prob = np.clip(0.6 * y_true + rng.normal(0.2, 0.3, (n, n_labels)), 0, 1)
    names = [f"AU{k + 1}" for k in range(n_labels)]
    return y_true, y_prob, names


def _sk_prfs(y_true, y_pred, labels, average):
    return skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=0)


# --------------------------------------------------------------------------- single-label
@pytest.mark.parametrize("seed", SEEDS)
def test_classification_report_matches_sklearn(seed):
    y_true, y_pred, _, names = _random_single_label(seed)
    labels = list(range(len(names)))
    report = fm.classification_report(y_true, y_pred, names)

    precision, recall, f1, support = _sk_prfs(y_true, y_pred, labels, None)
    per_class = report.loc[names]
    np.testing.assert_allclose(per_class["precision"], precision, atol=TOL)
    np.testing.assert_allclose(per_class["recall"], recall, atol=TOL)
    np.testing.assert_allclose(per_class["f1"], f1, atol=TOL)
    np.testing.assert_array_equal(per_class["support"], support)
    for average in fm.AVERAGE_ROWS:
        expected = _sk_prfs(y_true, y_pred, labels, average)[:3]
        np.testing.assert_allclose(report.loc[average, ["precision", "recall", "f1"]], expected, atol=TOL)
        assert report.at[average, "support"] == len(y_true)
    assert list(report.index) == names + list(fm.AVERAGE_ROWS)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_auc_matches_sklearn(seed, ties):
    y_true, y_pred, scores, names = _random_single_label(seed, ties=ties, min_classes=3)
    y_true[: len(names)] = np.arange(len(names))  # every class present, as sklearn's ovr needs
    labels = list(range(len(names)))
    report = fm.classification_report(y_true, y_pred, names, y_score=scores)

    one_hot = label_binarize(y_true, classes=labels)
    per_class = [skm.roc_auc_score(one_hot[:, k], scores[:, k]) for k in labels]
    np.testing.assert_allclose(report.loc[names, "auc"], per_class, atol=TOL)
    for average in ("macro", "weighted"):
        expected = skm.roc_auc_score(y_true, scores, multi_class="ovr", average=average, labels=labels)
        assert report.at[average, "auc"] == pytest.approx(expected, abs=TOL)
    expected_micro = skm.roc_auc_score(one_hot.ravel(), scores.ravel())
    assert report.at["micro", "auc"] == pytest.approx(expected_micro, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_binary_problem_auc_matches_sklearn(seed):
    y_true, y_pred, scores, names = _random_single_label(seed, n_classes=2, ties=True)
    report = fm.classification_report(y_true, y_pred, names, y_score=scores)
    per_class = [skm.roc_auc_score(y_true == k, scores[:, k]) for k in (0, 1)]
    np.testing.assert_allclose(report.loc[names, "auc"], per_class, atol=TOL)
    assert report.at["macro", "auc"] == pytest.approx(np.mean(per_class), abs=TOL)
    weighted = np.average(per_class, weights=np.bincount(y_true, minlength=2))
    assert report.at["weighted", "auc"] == pytest.approx(weighted, abs=TOL)
    expected_micro = skm.roc_auc_score(np.eye(2)[y_true].ravel(), scores.ravel())
    assert report.at["micro", "auc"] == pytest.approx(expected_micro, abs=TOL)


def test_undefined_auc_is_nan_and_left_out_of_averages():
    y_true, y_pred, scores, names = _random_single_label(3, n_classes=4)
    y_true = np.where(y_true == 2, 0, y_true)  # class 2 has no positives
    report = fm.classification_report(y_true, y_pred, names, y_score=scores)
    defined = [name for name in names if name != "c2"]
    assert np.isnan(report.at["c2", "auc"])
    assert report.at["macro", "auc"] == pytest.approx(report.loc[defined, "auc"].mean(), abs=TOL)
    weights = report.loc[defined, "support"]
    expected_weighted = np.average(report.loc[defined, "auc"], weights=weights)
    assert report.at["weighted", "auc"] == pytest.approx(expected_weighted, abs=TOL)
    expected_micro = skm.roc_auc_score(label_binarize(y_true, classes=range(4)).ravel(), scores.ravel())
    assert report.at["micro", "auc"] == pytest.approx(expected_micro, abs=TOL)


def test_all_samples_one_class_gives_nan_macro_auc():
    report = fm.classification_report([1, 1, 1], [1, 0, 1], ["a", "b"], y_score=[[0.2, 0.8]] * 3)
    assert report["auc"].loc[["a", "b", "macro", "weighted"]].isna().all()


def test_binary_auc_counts_ties_as_half():
    assert fm.binary_auc([0, 1], [0.5, 0.5]) == 0.5
    assert fm.binary_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75


def test_zero_division_classes_score_zero():
    # "b" is never predicted, "c" never occurs in y_true.
    report = fm.classification_report([0, 0, 1, 1], [0, 2, 0, 0], ["a", "b", "c"])
    assert report.loc["b", ["precision", "recall", "f1"]].tolist() == [0.0, 0.0, 0.0]
    assert report.loc["c", ["precision", "recall", "f1"]].tolist() == [0.0, 0.0, 0.0]
    assert report.at["c", "support"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _sk_prfs([0, 0, 1, 1], [0, 2, 0, 0], [0, 1, 2], "macro")
    np.testing.assert_allclose(report.loc["macro", ["precision", "recall", "f1"]], expected[:3], atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix_matches_sklearn(seed, normalize):
    y_true, y_pred, _, names = _random_single_label(seed)
    frame = fm.confusion_matrix(y_true, y_pred, names, normalize=normalize)
    expected = skm.confusion_matrix(y_true, y_pred, labels=range(len(names)), normalize=normalize)
    np.testing.assert_allclose(frame.to_numpy(), expected, atol=TOL)
    assert list(frame.index) == names and list(frame.columns) == names
    assert (frame.index.name, frame.columns.name) == ("true", "predicted")


def test_confusion_matrix_counts_are_integers():
    frame = fm.confusion_matrix([0, 1, 1], [0, 1, 0], ["a", "b"])
    assert frame.to_numpy().dtype.kind == "i"
    assert frame.loc["b", "a"] == 1


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_summary_keys_values_and_json(seed):
    y_true, y_pred, scores, names = _random_single_label(seed)
    y_true[: len(names)] = np.arange(len(names))
    result = fm.summary(y_true, y_pred, names, y_score=scores)
    assert list(result) == [
        "accuracy", "macro_precision", "macro_recall", "macro_f1", "micro_precision", "micro_recall",
        "micro_f1", "weighted_f1", "auc_macro", "auc_micro", "auc_weighted",
    ]
    assert all(type(value) is float for value in result.values())
    json.dumps(result)
    labels = list(range(len(names)))
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=TOL)
    assert result["macro_f1"] == pytest.approx(_sk_prfs(y_true, y_pred, labels, "macro")[2], abs=TOL)
    assert result["weighted_f1"] == pytest.approx(_sk_prfs(y_true, y_pred, labels, "weighted")[2], abs=TOL)
    assert "auc_macro" not in fm.summary(y_true, y_pred, names)


# --------------------------------------------------------------------------- multi-label
@pytest.mark.parametrize("seed", SEEDS)
def test_multilabel_report_matches_sklearn(seed):
    y_true, y_prob, names = _random_multilabel(seed)
    report = fm.multilabel_report(y_true, y_prob, names, threshold=0.5)
    y_pred = (y_prob > 0.5).astype(int)

    precision, recall, f1, support = _sk_prfs(y_true, y_pred, None, None)
    np.testing.assert_allclose(report.loc[names, ["precision", "recall", "f1"]].T, [precision, recall, f1], atol=TOL)
    np.testing.assert_array_equal(report.loc[names, "support"], support)
    for average in fm.MULTILABEL_AVERAGE_ROWS:
        expected = _sk_prfs(y_true, y_pred, None, average)[:3]
        np.testing.assert_allclose(report.loc[average, ["precision", "recall", "f1"]], expected, atol=TOL)
        assert report.at[average, "support"] == y_true.sum()


@pytest.mark.parametrize("seed", SEEDS)
def test_multilabel_summary_matches_sklearn(seed):
    y_true, y_prob, names = _random_multilabel(seed)
    y_pred = (y_prob > 0.5).astype(int)
    result = fm.multilabel_summary(y_true, y_pred, names)
    assert result["micro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="micro", zero_division=0), abs=TOL)
    assert result["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", zero_division=0), abs=TOL)
    assert result["micro_precision"] == pytest.approx(
        skm.precision_score(y_true, y_pred, average="micro", zero_division=0), abs=TOL)
    assert result["micro_recall"] == pytest.approx(
        skm.recall_score(y_true, y_pred, average="micro", zero_division=0), abs=TOL)
    assert result["subset_accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=TOL)
    assert result["hamming_accuracy"] == pytest.approx(1 - skm.hamming_loss(y_true, y_pred), abs=TOL)
    json.dumps(result)


def test_multilabel_binary_predictions_ignore_threshold():
    y_true = np.array([[1, 0], [0, 1]])
    assert fm.multilabel_summary(y_true, y_true, ["AU1", "AU2"], threshold=1.0)["subset_accuracy"] == 1.0
    probs = np.array([[0.9, 0.3], [0.2, 0.3]])
    assert fm.multilabel_report(y_true, probs, ["AU1", "AU2"], threshold=0.25).at["AU2", "precision"] == 0.5


def test_multilabel_zero_division_rows():
    y_true = np.array([[0, 1], [0, 0]])
    y_pred = np.array([[0, 1], [0, 0]])
    report = fm.multilabel_report(y_true, y_pred, ["AU1", "AU2"])
    assert report.loc["AU1", ["precision", "recall", "f1"]].tolist() == [0.0, 0.0, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _sk_prfs(y_true, y_pred, None, "samples")[:3]
    np.testing.assert_allclose(report.loc["samples", ["precision", "recall", "f1"]], expected, atol=TOL)


# --------------------------------------------------------------------------- bad inputs
NAMES = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([0, 1, 2], [0, 1], "y_true has 3 labels but y_pred has 2"),
        ([0, 1, 3], [0, 1, 2], r"y_true contains 3, outside the class indices 0\.\.2 of class_names \['a', 'b', 'c'\]"),
        ([0, 1, 2], [-1, 1, 5], r"y_pred contains -1, 5, outside"),
        ([], [], "y_true is empty"),
        (np.eye(3), [0, 1, 2], r"y_true must be 1-D class indices, got shape \(3, 3\)"),
        ([0.0, 1.5, 2.0], [0, 1, 2], "y_true must hold integer class indices, found 1.5"),
        (["a", "b", "c"], [0, 1, 2], "y_true must be numeric"),
        ([0, np.nan, 1], [0, 1, 2], "y_true contains NaN"),
    ],
)
def test_single_label_input_errors(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        fm.classification_report(y_true, y_pred, NAMES)


@pytest.mark.parametrize(
    ("y_score", "message"),
    [
        (np.full((2, 3), 1 / 3), "y_score has 2 rows but y_true has 3 labels"),
        (np.full((3, 2), 0.5), "y_score has 2 columns but class_names has 3 classes"),
        (np.full(3, 0.5), r"y_score must be 2-D \(samples, classes\), got shape \(3,\)"),
        (np.array([[np.inf, 0, 0]] * 3), "y_score contains NaN or infinite"),
    ],
)
def test_score_errors(y_score, message):
    with pytest.raises(ValueError, match=message):
        fm.summary([0, 1, 2], [0, 1, 2], NAMES, y_score=y_score)


@pytest.mark.parametrize(
    ("class_names", "message"),
    [
        ([], "class_names is empty"),
        (["a", "a", "b"], r"class_names has duplicate names: \['a'\]"),
        (["a", "macro", "c"], r"class_names uses reserved row names \['macro'\]"),
        ("abc", "class_names must be a sequence of names"),
    ],
)
def test_class_name_errors(class_names, message):
    with pytest.raises(ValueError, match=message):
        fm.classification_report([0, 1, 2], [0, 1, 2], class_names)


def test_bad_normalize():
    with pytest.raises(ValueError, match="normalize must be one of"):
        fm.confusion_matrix([0], [0], NAMES, normalize="rows")


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        (np.zeros((3, 2)), np.zeros((2, 2)), "y_true has 3 rows but y_pred has 2"),
        (np.zeros((3, 3)), np.zeros((3, 3)), "y_true has 3 columns but label_names has 2 labels"),
        (np.zeros((3, 2)), np.zeros((3, 3)), "y_pred has 3 columns but label_names has 2 labels"),
        (np.full((3, 2), 2), np.zeros((3, 2)), "y_true must hold only 0/1, found 2"),
        (np.zeros(3), np.zeros(3), r"y_true must be 2-D \(samples, labels\)"),
        (np.zeros((0, 2)), np.zeros((0, 2)), "y_true is empty"),
    ],
)
def test_multilabel_input_errors(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        fm.multilabel_report(y_true, y_pred, ["AU1", "AU2"])


def test_multilabel_reserved_name():
    with pytest.raises(ValueError, match="reserved row names"):
        fm.multilabel_summary(np.zeros((1, 1)), np.zeros((1, 1)), ["samples"])


# --------------------------------------------------------------------------- plots
def _assert_png(path):
    assert path.exists() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("normalize", [None, "true"])
def test_plot_confusion_matrix_writes_png(tmp_path, normalize):
    y_true, y_pred, _, _ = _random_single_label(0, n_classes=7)
    frame = fm.confusion_matrix(y_true, y_pred, EMOTIONS, normalize=normalize)
    path = plots.plot_confusion_matrix(frame, tmp_path / "nested" / "cm.png", title="Test")
    _assert_png(path)


def test_plot_per_class_writes_png(tmp_path):
    y_true, y_pred, scores, _ = _random_single_label(1, n_classes=7)
    report = fm.classification_report(y_true, y_pred, EMOTIONS, y_score=scores)
    _assert_png(plots.plot_per_class(report, tmp_path / "f1.png"))
    _assert_png(plots.plot_per_class(report, str(tmp_path / "auc.png"), metric="auc"))
    y_true, y_prob, names = _random_multilabel(2)
    _assert_png(plots.plot_per_class(fm.multilabel_report(y_true, y_prob, names), tmp_path / "au.png"))
    with pytest.raises(ValueError, match="report_frame has no column 'accuracy'"):
        plots.plot_per_class(report, tmp_path / "x.png", metric="accuracy")


def test_plot_history_writes_png(tmp_path):
    history = {"accuracy": [0.5, 0.6, 0.7], "loss": [1.2, 0.9, 0.8], "val_loss": [1.3, 1.0, 0.95],
               "val_accuracy": [0.45, 0.55, 0.6], "learning_rate": [1e-3, 1e-3, 5e-4]}
    _assert_png(plots.plot_history(history, tmp_path / "history.png"))
    assert plots.metric_families(list(history)) == [
        ("loss", ["loss", "val_loss"]), ("accuracy", ["accuracy", "val_accuracy"]),
        ("learning_rate", ["learning_rate"]),
    ]
    with pytest.raises(ValueError, match="history must be a non-empty dict"):
        plots.plot_history({}, tmp_path / "empty.png")


def test_plots_leave_no_pyplot_figures_open(tmp_path):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plots.plot_history({"loss": [1.0, 0.5]}, tmp_path / "h.png")
    assert plt.get_fignums() == before
    assert matplotlib.get_backend()  # untouched, whatever it is


def test_markdown_table_renders_every_cell():
    import pandas as pd

    from ferkit.evaluation.tables import to_markdown

    frame = pd.DataFrame({"f1": [0.5, float("nan")], "support": [3, 4]}, index=["a|b", "macro"])
    lines = to_markdown(frame, digits=2).splitlines()
    assert lines[0] == "|  | f1 | support |" and lines[1] == "|---|---|---|"
    assert lines[2] == "| a\\|b | 0.50 | 3 |" and lines[3] == "| macro | nan | 4 |"
