"""Half-face occlusion evaluation (seed 003): which half of the face carries the expression?

:func:`occlusion_matrix` scores every model on every mask of the test images: ``full``
(unmasked) or one half zeroed by :class:`~ferkit.layers.occlusion.HalfFaceMask`. The result
is tidy, one row per (trained_on, evaluated_on) pair::

    trained_on  evaluated_on  n_images  accuracy  macro_f1  weighted_f1  weighted_auc
    macro_auc  micro_auc

:func:`pivot_matrix` turns one metric into the trained-on x evaluated-on grid and
:func:`stacked_matrix` stacks several, which is the layout of seed 003's Table 2.

:func:`occlusion_protocol` runs the whole study: a baseline trained on full faces, one copy
of it fine-tuned per mask (training and validation images masked, test images untouched),
then the matrix. Run directory::

    full/  upper/  lower/  left/  right/     one run directory per model
    occlusion/matrix.{csv,md,json}           the tidy matrix; the .md has one grid per metric
    occlusion/<metric>.png                   annotated heatmap per metric

Starting again on the same ``run_dir`` reloads each finished model (``run.json`` and
``model.keras`` present) instead of retraining it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ferkit.evaluation import metrics
from ferkit.plotting import new_figure, save_figure
from ferkit.evaluation.tables import to_markdown

if TYPE_CHECKING:  # Keras (also loaded by ferkit.config and ferkit.data) is imported where it
    import keras  # is used, so that `ferkit --help` stays quick

    from ferkit.config import Config
    from ferkit.data.samples import Samples

FULL = "full"
#: Every evaluation condition: the unmasked face, then the halves that
#: :data:`ferkit.layers.occlusion.REGIONS` masks (the tests check the two agree).
MATRIX_REGIONS: tuple[str, ...] = (FULL, "upper", "lower", "left", "right")
#: Seed 003's Table 2 metrics.
TABLE2_METRICS: tuple[str, ...] = ("accuracy", "macro_f1", "weighted_f1", "weighted_auc")
#: Metric columns of the matrix: Table 2's, then Appendix B's macro and micro AUC.
MATRIX_METRICS: tuple[str, ...] = TABLE2_METRICS + ("macro_auc", "micro_auc")
MATRIX_COLUMNS: tuple[str, ...] = ("trained_on", "evaluated_on", "n_images") + MATRIX_METRICS
#: ``metrics.summary`` key of each matrix metric.
_SUMMARY_KEYS = {"accuracy": "accuracy", "macro_f1": "macro_f1", "weighted_f1": "weighted_f1",
                 "weighted_auc": "auc_weighted", "macro_auc": "auc_macro", "micro_auc": "auc_micro"}
_MASK_CHUNK = 4096
FINISHED_FILES: tuple[str, ...] = ("run.json", "model.keras")


# --------------------------------------------------------------------------- masking
def check_regions(regions: Sequence[str]) -> tuple[str, ...]:
    """Validated region names (``full`` or a half the mask layer knows), no repeats."""
    regions = (regions,) if isinstance(regions, str) else tuple(regions)
    if not regions:
        raise ValueError(f"regions is empty; choose from {list(MATRIX_REGIONS)}")
    unknown = [region for region in regions if region not in MATRIX_REGIONS]
    if unknown:
        raise ValueError(f"unknown region(s) {unknown}; choose from {list(MATRIX_REGIONS)}")
    if len(set(regions)) != len(regions):
        raise ValueError(f"regions repeat a name: {list(regions)}")
    return regions


def mask_images(images: np.ndarray, region: str) -> np.ndarray:
    """A copy of ``images`` ``(n, H, W[, C])`` with ``region`` zeroed (``full``: unchanged)."""
    check_regions([region])
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be (n, H, W) or (n, H, W, C), got shape {images.shape}")
    if region == FULL:
        return images.copy()
    import keras

    from ferkit.layers.occlusion import HalfFaceMask

    layer = HalfFaceMask(region)
    batch = images[..., None] if images.ndim == 3 else images
    parts = [keras.ops.convert_to_numpy(layer(batch[start:start + _MASK_CHUNK]))
             for start in range(0, len(batch), _MASK_CHUNK)]
    masked = np.concatenate(parts) if parts else batch.copy()
    return masked[..., 0] if images.ndim == 3 else masked


def _require_images(samples: Samples) -> None:
    if samples.images is None:
        raise ValueError(f"{samples.source or 'samples'}: occlusion needs images in memory; "
                         "load them first (ferkit.data.ckplus.read_images or load_from_config)")


def compact(samples: Samples) -> Samples:
    """The same rows with an images array holding only (and exactly) their images, in order."""
    _require_images(samples)
    positions = samples.frame["image_index"].to_numpy()
    frame = samples.frame.assign(image_index=np.arange(len(samples)))
    return dataclasses.replace(samples, frame=frame, images=samples.images[positions])


def masked_samples(samples: Samples, region: str, splits: Sequence[str] | None = None) -> Samples:
    """``samples`` with the images of the rows in ``splits`` masked (all rows when None).

    The other rows keep their own images, so e.g. a test split can stay unmasked while the
    training and validation images are masked. Augmentation still runs on top in training.
    """
    samples = compact(samples)
    rows = np.ones(len(samples), dtype=bool)
    if splits is not None:
        if "split" not in samples.frame.columns:
            raise ValueError(f"{samples.source or 'samples'}: no 'split' column to pick {list(splits)} from")
        rows = samples.frame["split"].isin(list(splits)).to_numpy()
    images = samples.images  # compact() made a private copy
    images[rows] = mask_images(images[rows], region)
    return dataclasses.replace(samples, images=images)


# --------------------------------------------------------------------------- the matrix
def evaluation_rows(samples: Samples, split: str | None = "test") -> Samples:
    """The rows to evaluate: ``split``'s rows when the frame has a ``split`` column, else all."""
    if split is None or "split" not in samples.frame.columns:
        return samples
    chosen = samples.split(split)
    if len(chosen) == 0:
        found = sorted(samples.frame["split"].unique())
        raise ValueError(f"{samples.source or 'samples'}: no {split!r} rows to evaluate (splits: {found})")
    return chosen


def score(model: keras.Model, samples: Samples, batch_size: int = 64) -> dict[str, float]:
    """The :data:`MATRIX_METRICS` of ``model``'s emotion head on ``samples``."""
    from ferkit.evaluation.evaluate import predict

    probabilities = np.asarray(predict(model, samples, batch_size)["emotion"], dtype="float64")
    summary = metrics.summary(samples.labels, probabilities.argmax(axis=1), list(samples.classes),
                              probabilities)
    return {metric: summary[key] for metric, key in _SUMMARY_KEYS.items()}


def occlusion_matrix(models: Mapping[str, keras.Model], samples: Samples,
                     regions: Sequence[str] = MATRIX_REGIONS, batch_size: int = 64,
                     split: str | None = "test", verbose: bool = False) -> pd.DataFrame:
    """Score every model on every region's mask of the evaluation images.

    ``models`` maps a name (what it was trained on, e.g. ``full`` or ``upper``) to a model with
    an ``emotion`` softmax head. ``samples`` is evaluated on its ``split`` rows (all rows when
    ``split`` is None or there is no ``split`` column). Returns one row per (trained_on,
    evaluated_on) pair, columns :data:`MATRIX_COLUMNS`, in ``models`` x ``regions`` order.
    """
    regions = check_regions(regions)
    if not models:
        raise ValueError("models is empty; pass at least one name -> model")
    test = compact(evaluation_rows(samples, split))
    scores = {}
    for region in regions:
        masked = dataclasses.replace(test, images=mask_images(test.images, region))
        for name, model in models.items():
            scores[(name, region)] = score(model, masked, batch_size)
        if verbose:
            print(f"[occlusion] evaluated {len(models)} model(s) on {region!r} "
                  f"({len(test)} images)", flush=True)
    rows = [{"trained_on": name, "evaluated_on": region, "n_images": len(test),
             **scores[(name, region)]} for name in models for region in regions]
    return pd.DataFrame(rows, columns=list(MATRIX_COLUMNS))


def _check_metric(frame: pd.DataFrame, metric: str) -> None:
    for column in ("trained_on", "evaluated_on", metric):
        if column not in frame.columns:
            raise ValueError(f"matrix frame has no column {column!r}; columns: {list(frame.columns)}")


def pivot_matrix(frame: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """One metric as a grid: rows = trained on, columns = evaluated on, in first-seen order."""
    _check_metric(frame, metric)
    grid = frame.pivot(index="trained_on", columns="evaluated_on", values=metric)
    grid = grid.reindex(index=pd.unique(frame["trained_on"]), columns=pd.unique(frame["evaluated_on"]))
    grid.index.name, grid.columns.name = "trained_on", "evaluated_on"
    return grid


def stacked_matrix(frame: pd.DataFrame, metrics: Sequence[str] = TABLE2_METRICS) -> pd.DataFrame:
    """Seed 003's Table 2: rows (trained_on, metric), columns evaluated on."""
    grids = {metric: pivot_matrix(frame, metric) for metric in metrics}
    stacked = pd.concat(grids, names=["metric", "trained_on"]).swaplevel(0, 1)
    order = [(name, metric) for name in pd.unique(frame["trained_on"]) for metric in metrics]
    return stacked.reindex(pd.MultiIndex.from_tuples(order, names=["trained_on", "metric"]))


def plot_occlusion_matrix(frame: pd.DataFrame, path: str | os.PathLike, metric: str = "accuracy",
                          title: str | None = None) -> Path:
    """Annotated heatmap of one metric (rows trained on, columns evaluated on, scale 0..1)."""
    grid = pivot_matrix(frame, metric)
    values = grid.to_numpy(dtype="float64")
    figure = new_figure(1.1 * values.shape[1] + 3.0, 0.8 * values.shape[0] + 2.0)
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    for (row, col), value in np.ndenumerate(values):
        text = "n/a" if np.isnan(value) else f"{value:.2f}"
        axes.text(col, row, text, ha="center", va="center", fontsize=9,
                  color="black" if value > 0.6 else "white")
    axes.set_xticks(range(values.shape[1]), [str(c) for c in grid.columns])
    axes.set_yticks(range(values.shape[0]), [str(i) for i in grid.index])
    axes.set_xlabel("evaluated on")
    axes.set_ylabel("trained on")
    axes.set_title(title or f"{metric} by training and evaluation mask")
    return save_figure(figure, path)


def matrix_markdown(frame: pd.DataFrame, metrics: Sequence[str] = TABLE2_METRICS,
                    digits: int = 4) -> str:
    """One trained-on x evaluated-on grid per metric, under headings."""
    note = "Rows: the model (what it was trained on); columns: the images it was evaluated on."
    return "\n".join(f"## {metric}\n\n{note}\n\n{to_markdown(pivot_matrix(frame, metric), digits)}"
                      for metric in metrics)


def write_matrix(frame: pd.DataFrame, out_dir: str | os.PathLike,
                 metrics: Sequence[str] = MATRIX_METRICS) -> Path:
    """``matrix.csv`` (tidy), ``matrix.md`` (grids), ``matrix.json`` and ``<metric>.png``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_dir / "matrix.csv", index=False)
    (out_dir / "matrix.md").write_text("# Occlusion matrix\n\n" + matrix_markdown(frame, metrics))
    (out_dir / "matrix.json").write_text(json.dumps(
        json.loads(frame.to_json(orient="records", double_precision=10)), indent=1))
    for metric in metrics:
        plot_occlusion_matrix(frame, out_dir / f"{metric}.png", metric)
    return out_dir


# --------------------------------------------------------------------------- the protocol
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


def is_finished(run_dir: Path) -> bool:
    return all((run_dir / name).is_file() for name in FINISHED_FILES)


def copy_model(model: keras.Model) -> keras.Model:
    """A new, uncompiled model of the same architecture holding ``model``'s weights."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def finetune_config(config: Config, region: str, epochs: int | None = None,
                    overrides: Sequence[str] = ()) -> Config:
    """``config`` for fine-tuning on ``region``: its own name, then ``--set``-style
    ``overrides`` (e.g. ``"train.learning_rate=1e-3"``), then ``epochs`` when given."""
    from ferkit.config import config_from_dict

    raw = {**config.to_dict(), "name": f"{config.name}_{region}"}
    tuned = config_from_dict(raw, f"fine-tuning config for {region!r}", overrides)
    if epochs is not None:
        tuned = dataclasses.replace(tuned, train=dataclasses.replace(tuned.train, epochs=int(epochs)))
    return tuned


def _split_samples(config: Config, run_dir: Path, samples: Samples | None) -> Samples:
    """Given samples as split (or split by the config), else the configured data, split."""
    from ferkit.training.experiment import assign_splits, prepare_data

    if samples is None:
        return prepare_data(config, run_dir)
    if "split" in samples.frame.columns:
        return samples
    return assign_splits(samples, config.split, config.seed)


def _train_or_load(config: Config, samples: Samples, run_dir: Path, start_from: keras.Model | None,
                   verbose: bool) -> tuple[keras.Model, bool]:
    """The finished model in ``run_dir``, or a newly trained one; and whether it was trained."""
    import keras

    from ferkit.training.experiment import train_on_samples

    if is_finished(run_dir):
        if verbose:
            print(f"[occlusion] {run_dir.name}: reloading finished model", flush=True)
        return keras.models.load_model(run_dir / "model.keras"), False
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
    _require_images(samples)
    baseline, trained_now = _train_or_load(config, samples, run_dir / FULL, None, verbose)
    models, trained = {FULL: baseline}, [FULL] if trained_now else []
    for region, region_config in tuned.items():
        masked = masked_samples(samples, region, splits=("train", "val"))
        models[region], trained_now = _train_or_load(region_config, masked, run_dir / region,
                                                     baseline, verbose)
        trained += [region] if trained_now else []
    split = "test" if (samples.frame["split"] == "test").any() else "val"
    matrix = occlusion_matrix(models, samples, regions, batch_size, split=split, verbose=verbose)
    write_matrix(matrix, run_dir / "occlusion")
    return OcclusionResult(run_dir, matrix, models, trained)


# --------------------------------------------------------------------------- command line
def _occlusion_command(args: argparse.Namespace) -> int:
    from ferkit.config import load_config

    overrides = list(args.set) + ([f"data.path={args.data}"] if args.data else [])
    config = load_config(args.config, overrides)
    out = Path(args.out) if args.out else Path("runs") / f"{config.name}_occlusion"
    result = occlusion_protocol(config, out, regions=args.regions,
                                finetune_epochs=args.finetune_epochs,
                                finetune_overrides=args.finetune_set)
    print(result.to_markdown(("accuracy", "macro_f1")))
    print(f"occlusion folder: {out}")
    return 0


def add_occlusion_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``occlusion --config CFG [--regions ...] ...`` to ``ferkit``'s subparsers."""
    parser = subparsers.add_parser("occlusion", help="seed 003's half-face occlusion study: "
                                                     "baseline, a fine-tuned copy per mask, "
                                                     "trained-on x evaluated-on matrix")
    parser.add_argument("--config", required=True, help="experiment YAML (see configs/)")
    parser.add_argument("--data", help="dataset path (overrides data.path)")
    parser.add_argument("--out", help="output folder (default runs/<config name>_occlusion)")
    parser.add_argument("--regions", nargs="+", default=list(MATRIX_REGIONS),
                        choices=list(MATRIX_REGIONS), help="masks to fine-tune and evaluate")
    parser.add_argument("--finetune-epochs", type=int, help="epochs per fine-tuning run")
    parser.add_argument("--finetune-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value for fine-tuning only (repeatable)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.epochs=5 (repeatable)")
    parser.set_defaults(run=_occlusion_command)
    return parser


__all__ = ["FULL", "MATRIX_COLUMNS", "MATRIX_METRICS", "MATRIX_REGIONS", "OcclusionResult",
           "add_occlusion_parser",
           "TABLE2_METRICS", "check_regions", "copy_model", "finetune_config", "mask_images",
           "masked_samples", "matrix_markdown", "occlusion_matrix", "occlusion_protocol",
           "pivot_matrix", "plot_occlusion_matrix", "score", "stacked_matrix", "write_matrix"]
