"""Distillation targets: the teacher's predictions blended into the training rows only."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ferkit.config import load_config
from ferkit.data.pipeline import emotion_targets
from ferkit.errors import ConfigError
from ferkit.evaluation.evaluate import predict
from ferkit.models.pretrained import load_preset
from ferkit.workflows.distill import TEACHER_VIEWS, distilled_samples
from ferkit.workflows.experiment import prepare_data

CONFIG = "configs/presets/fer2013_fast.yaml"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    config = load_config(CONFIG, ["data.synthetic.images=120", "data.ferplus_aux=false"])
    return prepare_data(config, tmp_path_factory.mktemp("fer2013"))


def _train(**overrides):
    config = load_config(CONFIG, [f"train.{key}={value}" for key, value in overrides.items()])
    return config.train


def test_training_rows_blend_label_and_teacher(samples):
    distilled = distilled_samples(samples, _train(distill_weight=0.7, distill_views="flip"))
    teacher, _ = load_preset("fer2013")
    taught = predict(teacher, samples.split("train"), 64, **TEACHER_VIEWS["flip"])["emotion"]
    one_hot = emotion_targets(samples)
    is_train = samples.frame["split"].to_numpy() == "train"
    targets = emotion_targets(distilled)
    np.testing.assert_allclose(targets[is_train], 0.3 * one_hot[is_train] + 0.7 * taught,
                               atol=1e-5)
    np.testing.assert_array_equal(targets[~is_train], one_hot[~is_train])
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(targets[is_train], one_hot[is_train])


def test_no_teacher_leaves_samples_alone(samples):
    assert distilled_samples(samples, _train(distill_from="null")) is samples


def test_weight_zero_keeps_the_labels(samples):
    distilled = distilled_samples(samples, _train(distill_weight=0.0, distill_views="none"))
    np.testing.assert_allclose(emotion_targets(distilled), emotion_targets(samples), atol=1e-6)


def test_teacher_with_other_classes_is_refused(samples):
    renamed = dataclasses.replace(samples, classes=tuple(f"c{i}" for i in range(7)))
    with pytest.raises(ConfigError, match="train.distill_from.*teacher predicts"):
        distilled_samples(renamed, _train(distill_views="none"))


def test_distill_weight_is_range_checked():
    with pytest.raises(ValueError, match="train.distill_weight"):
        _train(distill_weight=1.5)
