"""Carving validation from a source's train rows, and marking held-out duplicates."""
import cv2
import numpy as np
import pandas as pd
import pytest

from ferkit.data.holdout import (
    DUPLICATE_FLAG, DUPLICATE_GROUP, SOURCE_TEST, carve_validation, held_out_duplicates,
    mark_held_out_duplicates,
)
from ferkit.data.samples import Samples

CLASSES = ("angry", "happy", "sad")


def _face(rng: np.random.Generator) -> np.ndarray:
    """A smooth random 48x48 image: far (> 8 bits) from every other one in perceptual hash."""
    small = rng.integers(0, 256, (6, 6)).astype(np.float32)
    return cv2.resize(small, (48, 48), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


def _near_copy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``image`` with +-3 grey levels of noise: a perceptual duplicate, not an exact one."""
    return np.clip(image.astype(int) + rng.integers(-3, 4, image.shape), 0, 255).astype(np.uint8)


def planted_samples(seed: int = 0) -> tuple[Samples, dict[str, list[int]]]:
    """FER2013-like samples (source train / val / test) with planted duplicate groups.

    Returns the samples and the rows of each planted group: ``train_triple`` (three exact
    copies in train), ``train_near_pair`` (a near copy in train), ``val_copy_of_train`` (a
    source-val image copied from train), ``test_copy_of_train`` (a source-test image copied
    from train).
    """
    rng = np.random.default_rng(seed)
    labels = [k % len(CLASSES) for k in range(150)]
    splits = ["train"] * 105 + ["val"] * 30 + ["test"] * 15
    images = [_face(rng) for _ in labels]
    groups = {"train_triple": [0, 3, 6], "train_near_pair": [1, 4],
              "val_copy_of_train": [2, 105], "test_copy_of_train": [5, 135]}
    for rows in groups.values():
        first = rows[0]
        for row in rows[1:]:
            images[row] = _near_copy(images[first], rng) if rows == groups["train_near_pair"] \
                else images[first].copy()
            labels[row] = labels[first]
    frame = pd.DataFrame({"label": labels, "split": splits})
    return Samples(frame, CLASSES, images=np.stack(images), source="planted"), groups


def test_the_source_val_becomes_test_and_its_test_is_kept_out():
    samples, _ = planted_samples()
    carved = carve_validation(samples, 0.2, seed=0).frame
    source = samples.frame["split"]
    assert (carved.loc[source == "val", "split"] == "test").all()
    assert (carved.loc[source == "test", "split"] == SOURCE_TEST).all()
    assert set(carved.loc[source == "train", "split"]) == {"train", "val"}


def test_carved_val_is_stratified_near_the_fraction():
    samples, _ = planted_samples()
    carved = carve_validation(samples, 0.2, seed=0).frame
    train_rows = carved[samples.frame["split"] == "train"]
    share = (train_rows["split"] == "val").groupby(train_rows["label"]).mean()
    assert share.between(0.12, 0.28).all(), share.to_dict()  # 35 images a class, 20 % is 7


@pytest.mark.parametrize("duplicates", ["perceptual", "exact"])
def test_duplicate_groups_are_never_cut_between_train_and_val(duplicates):
    samples, groups = planted_samples()
    for seed in range(5):
        carved = carve_validation(samples, 0.3, duplicates, seed=seed).frame
        fitted = carved[carved["split"].isin(["train", "val"])]
        assert fitted.groupby(DUPLICATE_GROUP)["split"].nunique().max() == 1, seed
        assert carved.loc[groups["train_triple"], "split"].nunique() == 1, seed


def test_perceptual_groups_hold_near_copies_and_exact_groups_do_not():
    samples, groups = planted_samples()
    rows = groups["train_near_pair"]
    perceptual = carve_validation(samples, 0.2, "perceptual").frame[DUPLICATE_GROUP]
    exact = carve_validation(samples, 0.2, "exact").frame[DUPLICATE_GROUP]
    assert perceptual[rows[0]] == perceptual[rows[1]]
    assert exact[rows[0]] != exact[rows[1]]


def test_the_carve_is_fixed_by_the_seed():
    samples, _ = planted_samples()
    first = carve_validation(samples, 0.2, seed=1).frame["split"]
    again = carve_validation(samples, 0.2, seed=1).frame["split"]
    other = carve_validation(samples, 0.2, seed=2).frame["split"]
    pd.testing.assert_series_equal(first, again)
    assert (first != other).any()


def test_without_duplicate_groups_the_carve_is_per_image_and_exactly_stratified():
    samples, _ = planted_samples()
    carved = carve_validation(samples, 0.2, "none", seed=0).frame
    assert DUPLICATE_GROUP not in carved.columns
    train_rows = carved[samples.frame["split"] == "train"]
    assert ((train_rows["split"] == "val").groupby(train_rows["label"]).sum() == 7).all()


def test_held_out_rows_with_a_copy_in_train_or_val_are_marked():
    samples, groups = planted_samples()
    marked = mark_held_out_duplicates(carve_validation(samples, 0.2, seed=0)).frame
    flagged = set(np.flatnonzero(marked[DUPLICATE_FLAG]))
    assert flagged == {groups["val_copy_of_train"][1]}  # source val, now test, copied from train
    assert not marked.loc[groups["test_copy_of_train"][1], DUPLICATE_FLAG]  # source_test: out


def test_in_the_source_split_a_test_copy_of_train_is_marked_too():
    samples, groups = planted_samples()
    marked = mark_held_out_duplicates(samples, "exact").frame
    flagged = set(np.flatnonzero(marked[DUPLICATE_FLAG]))
    assert flagged == {groups["val_copy_of_train"][1], groups["test_copy_of_train"][1]}


def test_held_out_duplicates_by_split():
    frame = pd.DataFrame({"split": ["train", "val", "val", "test", "test", "test"],
                          DUPLICATE_GROUP: [0, 0, 1, 1, 2, 3]})
    # val row 1 shares group 0 with train; test row 3 shares group 1 with val; group 2, 3 alone
    assert held_out_duplicates(frame).tolist() == [False, True, False, True, False, False]


def test_bad_carving_inputs_name_the_problem():
    samples, _ = planted_samples()
    with pytest.raises(ValueError, match="val_fraction must be in"):
        carve_validation(samples, 1.0)
    odd = Samples(samples.frame.assign(split="holdout"), CLASSES, images=samples.images)
    with pytest.raises(ValueError, match="'holdout'"):
        carve_validation(odd, 0.2)
    with pytest.raises(ValueError, match="duplicates is 'none'"):
        mark_held_out_duplicates(samples, "none")
