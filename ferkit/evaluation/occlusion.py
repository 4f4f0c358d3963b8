"""Half-face occlusion evaluation (seed 003): which half of the face carries the expression?

:func:`occlusion_matrix` scores every model on every mask of the test images: ``full``
(unmasked) or one half zeroed by :class:`~ferkit.layers.occlusion.HalfFaceMask`. The result
is tidy, one row per (trained_on, evaluated_on) pair::

    trained_on  evaluated_on  n_images  accuracy  macro_f1  weighted_f1  weighted_auc
    macro_auc  micro_auc

:func:`pivot_matrix` turns one metric into the trained-on x evaluated-on grid and
:func:`stacked_matrix` stacks several, which is the layout of seed 003's Table 2.
Training the models of the study is :func:`ferkit.workflows.occlusion.occlusion_protocol`'s job.
"""
from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ferkit.evaluation import metrics
from ferkit.evaluation.tables import to_markdown
from ferkit.plotting import new_figure, save_figure
from ferkit.runs import write_text_atomic

if TYPE_CHECKING:  # Keras (also loaded by ferkit.data) is imported where it is used, so
    import keras  # that importing this module stays quick

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


def require_images(samples: Samples) -> None:
    """Raise naming the source when ``samples`` holds no images in memory."""
    if samples.images is None:
        raise ValueError(f"{samples.source or 'samples'}: occlusion needs images in memory; "
                         "load them first (ferkit.data.sources.read_images or load_from_config)")


def compact(samples: Samples) -> Samples:
    """The same rows with an images array holding only (and exactly) their images, in order."""
    require_images(samples)
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
    write_text_atomic(out_dir / "matrix.csv", frame.to_csv(index=False))
    write_text_atomic(out_dir / "matrix.md",
                      "# Occlusion matrix\n\n" + matrix_markdown(frame, metrics))
    write_text_atomic(out_dir / "matrix.json", json.dumps(
        json.loads(frame.to_json(orient="records", double_precision=10)), indent=1))
    for metric in metrics:
        plot_occlusion_matrix(frame, out_dir / f"{metric}.png", metric)
    return out_dir


__all__ = ["FULL", "MATRIX_COLUMNS", "MATRIX_METRICS", "MATRIX_REGIONS", "TABLE2_METRICS",
           "check_regions", "compact", "evaluation_rows", "mask_images", "masked_samples",
           "matrix_markdown", "occlusion_matrix", "pivot_matrix", "plot_occlusion_matrix",
           "require_images", "score", "stacked_matrix", "write_matrix"]
