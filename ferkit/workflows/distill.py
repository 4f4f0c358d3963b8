"""Distillation targets: a teacher's test-time-augmented predictions as a student's soft labels.

A model scored with 14-view TTA is more accurate than the same model on one view, but costs
14 forward passes per face. Training a student on the teacher's view-averaged probabilities
(``train.distill_from``) moves much of that gain into a single forward pass: each training
image's target becomes ``(1 - distill_weight)`` x its own label (one-hot, or the soft target
it already has) plus ``distill_weight`` x the teacher's probabilities. Only training rows are
shown to the teacher; validation and test rows keep their labels, so the checkpoint is still
chosen on, and the run still scored against, the dataset's own labels.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ferkit.config.schema import TrainConfig
from ferkit.data.pipeline import emotion_targets
from ferkit.data.samples import Samples
from ferkit.errors import ConfigError
from ferkit.evaluation.evaluate import predict
from ferkit.models.loading import load_run_model
from ferkit.models.pretrained import load_preset
from ferkit.runs import Preprocessing, load_preprocessing

#: ``train.distill_views`` -> the teacher's test-time augmentation (see ``evaluation.predict``).
TEACHER_VIEWS: dict[str, dict] = {
    "none": {},
    "flip": {"flip_tta": True},
    "recipe": {"flip_tta": True, "shift_tta": 2, "zoom_tta": (1.08, 1.16)},
}

#: Images per teacher forward pass (before TTA multiplies them).
TEACHER_BATCH = 256


def load_teacher(source: str):
    """The teacher model and its preprocessing: a run directory, else a preset name."""
    path = Path(source)
    if path.is_dir():
        return load_run_model(path), load_preprocessing(path)
    return load_preset(source)


def distilled_samples(samples: Samples, train: TrainConfig) -> Samples:
    """``samples`` with ``target_<class>`` columns blending in the teacher's predictions on
    the training rows (unchanged when ``train.distill_from`` is null)."""
    if not train.distill_from:
        return samples
    teacher, preprocessing = load_teacher(train.distill_from)
    _check_teacher(train.distill_from, preprocessing, samples)
    is_train = samples.frame["split"].to_numpy() == "train"
    views = TEACHER_VIEWS[train.distill_views]
    taught = predict(teacher, samples.split("train"), TEACHER_BATCH, **views)["emotion"]
    targets = emotion_targets(samples).astype("float64")
    weight = train.distill_weight
    targets[is_train] = (1.0 - weight) * targets[is_train] + weight * taught
    columns = {f"target_{name}": targets[:, j].astype("float32")
               for j, name in enumerate(samples.classes)}
    return dataclasses.replace(samples, frame=samples.frame.assign(**columns))


def _check_teacher(source: str, preprocessing: Preprocessing, samples: Samples) -> None:
    if list(preprocessing.classes) != list(samples.classes):
        raise ConfigError(f"train.distill_from = {source!r}: the teacher predicts "
                          f"{list(preprocessing.classes)}, the data has {list(samples.classes)}")
    image_shape = tuple(np.shape(samples.images)[1:3])
    if tuple(preprocessing.input_shape[:2]) != image_shape:
        raise ConfigError(f"train.distill_from = {source!r}: the teacher takes "
                          f"{tuple(preprocessing.input_shape)} images, the data has {image_shape}")
    if "split" not in samples.frame.columns or not (samples.frame["split"] == "train").any():
        raise ConfigError(f"train.distill_from = {source!r}: the data has no training rows")


__all__ = ["TEACHER_VIEWS", "distilled_samples", "load_teacher"]
