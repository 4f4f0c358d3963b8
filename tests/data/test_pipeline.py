import numpy as np
import pytest

from ferkit.data import build_augmenter, load_ckplus, make_dataset, read_images
from ferkit.config import AugmentConfig


@pytest.fixture(scope="module")
def samples(ckplus_48):
    return read_images(load_ckplus(ckplus_48, min_au_count=2))


def test_evaluation_dataset_is_the_raw_images_in_order(samples):
    x, y = next(iter(make_dataset(samples, batch_size=8)))
    np.testing.assert_allclose(x.numpy(), samples.images[:8] / 255.0, atol=1e-7)
    assert x.numpy().dtype == np.float32 and 0.0 <= x.numpy().min() and x.numpy().max() <= 1.0
    np.testing.assert_array_equal(y["emotion"].numpy().argmax(1), samples.labels[:8])
    np.testing.assert_array_equal(y["au"].numpy(), samples.au_matrix[:8])


def test_augmentation_changes_training_batches_only(samples):
    augmenter = build_augmenter(AugmentConfig(), seed=0)
    train = make_dataset(samples, batch_size=len(samples), training=True, augmenter=augmenter)
    x_train, y_train = next(iter(train))
    order = [np.flatnonzero((samples.au_matrix == a).all(1) & (samples.labels == l))
             for a, l in zip(y_train["au"].numpy(), y_train["emotion"].numpy().argmax(1))]
    assert all(len(o) for o in order)
    assert x_train.numpy().min() >= 0.0 and x_train.numpy().max() <= 1.0
    assert not np.allclose(np.sort(x_train.numpy().ravel()), np.sort(samples.images.ravel() / 255.0))
    with pytest.raises(ValueError, match="training data only"):
        make_dataset(samples, augmenter=augmenter, training=False)


def test_heads_select_targets(samples):
    _, y = next(iter(make_dataset(samples, heads=["emotion"])))
    assert list(y) == ["emotion"]
    with pytest.raises(ValueError, match="unknown heads"):
        make_dataset(samples, heads=["valence"])


def test_images_must_be_loaded_first(ckplus_48):
    with pytest.raises(ValueError, match="read_images"):
        make_dataset(load_ckplus(ckplus_48))


def test_files_decoded_in_the_pipeline_match_opencv(ckplus_48, samples):
    decoded = make_dataset(load_ckplus(ckplus_48, min_au_count=2), batch_size=len(samples),
                           image_size=(48, 48))
    x, _ = next(iter(decoded))
    np.testing.assert_allclose(x.numpy(), samples.images / 255.0, atol=1e-7)


def test_corrupt_file_in_the_pipeline_is_named(tmp_path, ckplus_48):
    import shutil

    import tensorflow as tf

    copy = tmp_path / "copy"
    shutil.copytree(ckplus_48, copy)
    victim = sorted((copy / "CK+48" / "anger").glob("*.png"))[0]
    victim.write_bytes(b"")
    dataset = make_dataset(load_ckplus(copy, min_au_count=2), image_size=(48, 48))
    with pytest.raises(tf.errors.InvalidArgumentError, match=victim.name):
        for _ in dataset:
            pass


def test_soft_target_columns_replace_one_hot(samples):
    frame = samples.frame.copy()
    soft = np.full((len(frame), len(samples.classes)), 1.0 / len(samples.classes), "float32")
    for i, name in enumerate(samples.classes):
        frame[f"target_{name}"] = soft[:, i]
    import dataclasses

    _, y = next(iter(make_dataset(dataclasses.replace(samples, frame=frame), batch_size=4)))
    np.testing.assert_allclose(y["emotion"].numpy(), soft[:4])


def _erasing_only(probability):
    return build_augmenter(AugmentConfig(flip=False, rotation=0, shift=0, brightness=0,
                                         contrast=0, erasing=probability), seed=0)


def test_random_erasing_hides_one_rectangle_in_the_chosen_share_of_images():
    x = np.full((400, 48, 48, 1), 0.5, "float32")
    erased = np.asarray(_erasing_only(1.0)(x, training=True))
    changed = erased != 0.5
    assert changed.any(axis=(1, 2, 3)).all()
    share = changed.mean(axis=(1, 2, 3))
    assert share.max() <= 0.34 and share.min() >= 0.0
    # the changed pixels of each image fill one rectangle (noise never lands on exactly 0.5)
    for image in changed[:20, ..., 0]:
        rows, cols = np.nonzero(image)
        assert image[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
    assert erased.min() >= 0.0 and erased.max() <= 1.0
    half = np.asarray(_erasing_only(0.5)(x, training=True))
    assert 0.4 < (half != 0.5).any(axis=(1, 2, 3)).mean() < 0.6
    assert np.array_equal(np.asarray(_erasing_only(1.0)(x, training=False)), x)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_erasing_is_a_probability(bad):
    with pytest.raises(ValueError, match="augment.erasing"):
        AugmentConfig(erasing=bad)
