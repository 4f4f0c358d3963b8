"""``occlusion_protocol``: seed 003's half-face study, one run directory per model.

A baseline trained on full faces, one copy of it fine-tuned per mask (training and
validation images masked, test images untouched), then every model scored on every mask by
:func:`ferkit.evaluation.occlusion.occlusion_matrix`. Run directory::

    full/  upper/  lower/  left/  right/     one run directory per model
    occlusion/matrix.{csv,md,json}           the tidy matrix; the .md has one grid per metric
    occlusion/<metric>.png                   annotated heatmap per metric

Starting again on the same ``run_dir`` reloads each committed model (``RunDir.is_complete``:
its ``run.json`` exists) instead of retraining it; a model folder without its commit marker,
whatever else it holds, is trained again.
"""
from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import pandas as pd

from ferkit.config import Config, config_from_dict
from ferkit.data.samples import Samples
from ferkit.evaluation.occlusion import (
    FULL, MATRIX_REGIONS, TABLE2_METRICS, check_regions, masked_samples, matrix_markdown,
    occlusion_matrix, pivot_matrix, require_images, write_matrix,
)
from ferkit.runs import RunDir
from ferkit.workflows.experiment import assign_splits, prepare_data, train_on_samples

#: Folder of the study's matrix tables and heatmaps, inside ``run_dir``.
MATRIX_DIR = "occlusion"


@dataclasses.dataclass
class OcclusionResult:
    """A finished occlusion study; everything is also written under ``run_dir``.

    Attributes:
        run_dir: the study's folder (one run directory per model inside).
        matrix: the tidy :func:`occlusion_matrix` frame.
        models: trained-on name -> model (``full`` is the baseline).
        trained: names trained by this call; the others were reloaded from disk.
    """

    run_dir: Path
    matrix: pd.DataFrame
    models: dict[str, keras.Model]
    trained: list[str]

    def pivot(self, metric: str = "accuracy") -> pd.DataFrame:
        return pivot_matrix(self.matrix, metric)

    def to_markdown(self, metrics: Sequence[str] = TABLE2_METRICS) -> str:
        return matrix_markdown(self.matrix, metrics)


def copy_model(model: keras.Model) -> keras.Model:
    """A new, uncompiled model of the same architecture holding ``model``'s weights."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def finetune_config(config: Config, region: str, epochs: int | None = None,
                    overrides: Sequence[str] = ()) -> Config:
    """``config`` for fine-tuning on ``region``: its own name, then ``--set``-style
    ``overrides`` (e.g. ``"train.learning_rate=1e-3"``), then ``epochs`` when given."""
    raw = {**config.to_dict(), "name": f"{config.name}_{region}"}
    tuned = config_from_dict(raw, f"fine-tuning config for {region!r}", overrides)
    if epochs is not None:
        tuned = dataclasses.replace(tuned, train=dataclasses.replace(tuned.train, epochs=int(epochs)))
    return tuned


def _split_samples(config: Config, run_dir: Path, samples: Samples | None) -> Samples:
    """Given samples as split (or split by the config), else the configured data, split."""
    if samples is None:
        return prepare_data(config, run_dir)
    if "split" in samples.frame.columns:
        return samples
    return assign_splits(samples, config.split, config.seed)


def _train_or_load(config: Config, samples: Samples, run_dir: Path, start_from: keras.Model | None,
                   verbose: bool) -> tuple[keras.Model, bool]:
    """The finished model in ``run_dir``, or a newly trained one; and whether it was trained."""
    if RunDir(run_dir).is_complete():
        if verbose:
            print(f"[occlusion] {run_dir.name}: reloading finished model", flush=True)
        return keras.models.load_model(RunDir(run_dir) / RunDir.MODEL, safe_mode=True), False
    if verbose:
        print(f"[occlusion] {run_dir.name}: training into {run_dir}", flush=True)
    start = time.perf_counter()
    model = copy_model(start_from) if start_from is not None else None
    result = train_on_samples(config, samples, run_dir, model=model)
    if verbose:
        print(f"[occlusion] {run_dir.name}: done in {time.perf_counter() - start:.1f} s, "
              f"{result.evaluated_on} accuracy {result.evaluation.summary['emotion_accuracy']:.4f}",
              flush=True)
    return result.model, True


def occlusion_protocol(config: Config, run_dir: str | os.PathLike,
                       regions: Sequence[str] = MATRIX_REGIONS, finetune_epochs: int | None = None,
                       samples: Samples | None = None, finetune_overrides: Sequence[str] = (),
                       batch_size: int = 64, verbose: bool = True) -> OcclusionResult:
    """Seed 003's study: baseline on full faces, a fine-tuned copy per mask, then the matrix.

    1. Train ``config``'s model on unmasked images into ``run_dir/full`` (always done: the
       masks fine-tune from it, so ``full`` is added to ``regions`` when missing).
    2. For each mask in ``regions``: copy the baseline (same architecture and weights) and
       train it on the same split with the train and val images masked, into
       ``run_dir/<region>``. ``finetune_overrides`` (``--set`` style, e.g. seed 003's
       ``"train.weight_decay=0.0005"``) and ``finetune_epochs`` change the training settings
       of this step (``model.*`` overrides have no effect: the copy keeps the baseline's
       architecture). Test images stay unmasked there, so that run's own ``metrics.json``
       is its full-face score.
    3. Evaluate every model on every region of the test split (val when there is no test
       split) and write ``run_dir/occlusion/``.

    ``samples`` with a ``split`` column are used as split; without one, or when None, the
    config's data and split apply. Finished models are reloaded, not retrained.
    """
    regions = check_regions(regions)
    regions = regions if FULL in regions else (FULL,) + regions
    run_dir = Path(run_dir)
    tuned = {region: finetune_config(config, region, finetune_epochs, finetune_overrides)
             for region in regions if region != FULL}  # config errors before any training
    samples = _split_samples(config, run_dir, samples)
    require_images(samples)
    baseline, trained_now = _train_or_load(config, samples, run_dir / FULL, None, verbose)
    models, trained = {FULL: baseline}, [FULL] if trained_now else []
    for region, region_config in tuned.items():
        masked = masked_samples(samples, region, splits=("train", "val"))
        models[region], trained_now = _train_or_load(region_config, masked, run_dir / region,
                                                     baseline, verbose)
        trained += [region] if trained_now else []
    split = "test" if (samples.frame["split"] == "test").any() else "val"
    matrix = occlusion_matrix(models, samples, regions, batch_size, split=split, verbose=verbose)
    write_matrix(matrix, run_dir / MATRIX_DIR)
    return OcclusionResult(run_dir, matrix, models, trained)


__all__ = ["MATRIX_DIR", "OcclusionResult", "copy_model", "finetune_config", "occlusion_protocol"]
