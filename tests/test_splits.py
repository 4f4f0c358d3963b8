import numpy as np
import pandas as pd
import pytest

from ferkit.data import assert_disjoint, group_split, shared_groups


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
