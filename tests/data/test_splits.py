"""ferkit.data.splits: grouped and stratified splits, k-fold, leakage checks, split reports."""
import numpy as np
import pandas as pd
import pytest

from ferkit.data.splits import (
    assert_disjoint, group_split, kfold, shared_groups, split_report, stratified_split,
)


def _frame(subjects=40, per_subject=9, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    rows = [(f"S{s:03d}", int(rng.integers(classes))) for s in range(subjects) for _ in range(per_subject)]
    return pd.DataFrame(rows, columns=["subject", "label"])


def test_group_split_is_subject_disjoint_and_near_the_fractions():
    frame = _frame()
    frame["split"] = group_split(frame, (0.6, 0.2, 0.2), seed=1)
    assert shared_groups(frame).empty
    shares = frame["split"].value_counts(normalize=True)
    assert abs(shares["train"] - 0.6) < 0.08 and abs(shares["test"] - 0.2) < 0.08
    assert set(frame.groupby("split")["label"].nunique()) == {4}  # every class in every split


def test_group_split_is_seeded():
    frame = _frame()
    a, b = group_split(frame, seed=5), group_split(frame, seed=5)
    assert a.equals(b)
    assert not a.equals(group_split(frame, seed=6))


def test_leak_is_reported():
    frame = _frame(subjects=4, per_subject=2)
    frame["split"] = ["train", "test"] * 4
    with pytest.raises(ValueError, match="4 subject values are shared across splits"):
        assert_disjoint(frame)


@pytest.mark.parametrize("fractions, message", [((0.5, 0.2, 0.2), "sum to 1"), ((0.5, 0.5), "2 fractions")])
def test_bad_fractions(fractions, message):
    with pytest.raises(ValueError, match=message):
        group_split(_frame(), fractions)


def test_too_few_groups_and_missing_columns():
    with pytest.raises(ValueError, match="2 distinct 'subject' values cannot fill 3 splits"):
        group_split(_frame(subjects=2))
    with pytest.raises(ValueError, match="column 'person' not in frame"):
        group_split(_frame(), group="person")


# ----------------------------------------------------------------------------- stratified and k-fold

def _imbalanced_frame(n=600, classes=(300, 150, 100, 50), subjects=40, seed=0):
    """Imbalanced labels, several images per subject, and a non-default index."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(classes)), classes)[:n]
    frame = pd.DataFrame({"label": rng.permutation(labels),
                          "subject": [f"S{s:03d}" for s in rng.integers(subjects, size=len(labels))]})
    frame.index = frame.index * 2 + 7
    return frame


def test_stratified_split_divides_every_class_in_the_fractions():
    frame = _imbalanced_frame()
    split = stratified_split(frame, (0.7, 0.15, 0.15))
    assert split.index.equals(frame.index) and split.name == "split"
    shares = pd.crosstab(frame["label"], split, normalize="index")
    sizes = frame["label"].value_counts()
    for name, target in [("train", 0.7), ("val", 0.15), ("test", 0.15)]:
        assert (abs(shares[name] - target) <= 1 / sizes + 1e-9).all(), name


def test_stratified_split_is_deterministic_and_seeded():
    frame = _imbalanced_frame()
    assert stratified_split(frame, seed=3).equals(stratified_split(frame, seed=3))
    assert not stratified_split(frame, seed=3).equals(stratified_split(frame, seed=4))


def test_stratified_split_without_strata_and_bad_input():
    split = stratified_split(_imbalanced_frame(), (0.5, 0.5), ("a", "b"), stratify=None)
    assert split.value_counts().to_dict() == {"a": 300, "b": 300}
    with pytest.raises(ValueError, match="sum to 1"):
        stratified_split(_imbalanced_frame(), (0.7, 0.2, 0.2))
    with pytest.raises(ValueError, match="column 'emotion' not in frame"):
        stratified_split(_imbalanced_frame(), stratify="emotion")
    with pytest.raises(ValueError, match="'label' has 1 missing values"):
        one_missing = _imbalanced_frame().astype({"label": float})
        one_missing.loc[7, "label"] = np.nan
        stratified_split(one_missing)


def test_kfold_tests_every_row_once_and_keeps_15_percent_val():
    frame = _imbalanced_frame()
    folds = kfold(frame, k=10, seed=1)
    assert len(folds) == 10 and all(f.index.equals(frame.index) for f in folds)
    times_tested = sum((f == "test").astype(int) for f in folds)
    assert (times_tested == 1).all()
    for fold in folds:
        rest = fold[fold != "test"]
        assert abs((rest == "val").mean() - 0.15) < 0.02
        per_class_test = pd.crosstab(frame["label"], fold, normalize="index")["test"]
        assert (abs(per_class_test - 0.1) < 0.03).all()
    assert all(a.equals(b) for a, b in zip(folds, kfold(frame, k=10, seed=1)))


def test_grouped_kfold_keeps_subjects_disjoint():
    frame = _imbalanced_frame()
    folds = kfold(frame, k=5, group="subject", seed=0)
    for fold in folds:
        assert_disjoint(frame.assign(split=fold.to_numpy()), "subject")
        assert set(fold) == {"train", "val", "test"}
        assert abs((fold[fold != "test"] == "val").mean() - 0.15) < 0.06
    tested = frame.assign(times=sum((f == "test").astype(int) for f in folds))
    assert (tested["times"] == 1).all() and tested.groupby("subject")["times"].nunique().eq(1).all()


def test_kfold_errors_name_the_problem():
    frame = _imbalanced_frame(classes=(300, 150, 100, 8))
    too_rare = r"k=10 is larger than the number of images in 1 'label' classes \(3: 8\)"
    with pytest.raises(ValueError, match=too_rare):
        kfold(frame, k=10)
    too_few_groups = "k=50 folds need at least 50 distinct 'subject' values, the frame has 40"
    with pytest.raises(ValueError, match=too_few_groups):
        kfold(frame, k=50, group="subject", stratify=None)
    few = frame.assign(subject=np.where(frame["label"] == 3, "S000", frame["subject"]))
    with pytest.raises(ValueError, match=r"distinct 'subject' values in 1 'label' classes \(3: 1\)"):
        kfold(few, k=5, group="subject")
    with pytest.raises(ValueError, match="k must be at least 2"):
        kfold(frame, k=1)
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 1\)"):
        kfold(frame, k=5, val_fraction=1.0)


def test_split_report_counts_match_crosstab_and_show_missing_classes():
    frame = _imbalanced_frame().assign(gender=lambda f: np.where(f.index % 4 == 1, "female", "male"))
    frame["split"] = stratified_split(frame, seed=2)
    frame.loc[(frame["split"] == "val") & (frame["label"] == 3), "split"] = "train"   # class 3 leaves val
    report = split_report(frame)
    assert list(report.columns) == ["split", "label", "count", "share", "overall_share"]
    assert list(dict.fromkeys(report["split"])) == ["train", "val", "test"]
    expected = pd.crosstab(frame["split"], frame["label"]).stack()
    counts = report.set_index(["split", "label"])["count"].sort_index()
    assert counts.equals(expected.sort_index().rename("count"))
    assert report.query("split == 'val' and label == 3")["count"].item() == 0
    assert np.allclose(report.groupby("split")["share"].sum(), 1.0)
    assert np.allclose(report.groupby("label")["overall_share"].sum(), 1.0)
    by_two = split_report(frame, by=("label", "gender"))
    assert len(by_two) == 3 * 4 * 2 and by_two["count"].sum() == len(frame)
    with pytest.raises(ValueError, match="column 'fold' not in frame"):
        split_report(frame, split="fold")
