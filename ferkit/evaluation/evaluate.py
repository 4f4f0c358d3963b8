"""Evaluate a trained ferkit model on :class:`Samples` and write the tables and plots."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from ferkit.data.pipeline import make_dataset
from ferkit.data.samples import Samples
from ferkit.evaluation import dedup, metrics, plots
from ferkit.evaluation.tables import to_markdown
from ferkit.runs import RunDir, write_json_atomic, write_text_atomic


@dataclasses.dataclass
class Evaluation:
    """Everything one evaluation produced.

    Attributes:
        summary: flat ``{"emotion_accuracy": ..., "au_micro_f1": ...}`` figures.
        emotion_report: per-class P/R/F1/support (+ AUC) with macro/micro/weighted rows.
        confusion: counts, rows = true class, columns = predicted class.
        au_report: per-AU P/R/F1/support with averages (None without an AU head).
        predictions: one row per sample: true/predicted class, probabilities, AU scores.
    """

    summary: dict[str, float]
    emotion_report: pd.DataFrame
    confusion: pd.DataFrame
    au_report: pd.DataFrame | None
    predictions: pd.DataFrame


def predict(model: keras.Model, samples: Samples, batch_size: int = 64,
            flip_tta: bool = False, shift_tta: int = 0,
            zoom_tta: Sequence[float] = ()) -> dict[str, np.ndarray]:
    """Head name -> predicted probabilities, in the order of ``samples``.

    Test-time augmentation averages each head's output over several views of every image:
    ``flip_tta`` adds its mirror image (faces are nearly symmetric, so the two views are two
    looks at the same expression); ``shift_tta`` > 0 adds the image moved that many pixels
    up, down, left and right (edges reflected, as in training's shift augmentation), which
    softens the model's sensitivity to where the face crop sits; each factor in
    ``zoom_tta`` (> 1) adds the centre of the image enlarged by it, a closer look at the face
    inside a loose crop. With flips, every view also comes mirrored: flip + shift + two zooms
    is 14 views.

    The views of a batch go through the model together: each call stacks the V views of
    ``batch_size`` images into one ``(batch_size * V, H, W, C)`` batch (one forward pass
    instead of V), so a call holds ``batch_size * V`` images; lower ``batch_size`` to bound
    the memory of a large model.
    """
    dataset = make_dataset(samples, batch_size=batch_size, heads=["emotion"])  # images only
    views = tta_views(flip_tta, shift_tta, zoom_tta)
    outputs = _as_heads(model.predict(dataset.map(_stacked_views(views)), verbose=0))
    sizes = _batch_sizes(len(samples), batch_size)
    return {head: _view_average(np.asarray(value), sizes, len(views))
            for head, value in outputs.items()}


def tta_views(flip: bool = False, shift: int = 0, zoom: Sequence[float] = ()) -> list:
    """The test-time views as functions of an image batch (NHWC); the first is the identity,
    then the shifts, then the zooms, then (with ``flip``) the mirror image of each."""
    if not isinstance(shift, (int, np.integer)) or isinstance(shift, bool) or shift < 0:
        raise ValueError(f"shift_tta must be a whole number of pixels >= 0, got {shift!r}")
    zoom = check_zoom_tta(zoom)
    offsets = [(0, 0)] + ([(-shift, 0), (shift, 0), (0, -shift), (0, shift)] if shift else [])
    views = [_shifted(dy, dx) for dy, dx in offsets] + [_enlarged(factor) for factor in zoom]
    if flip:
        views += [_then_mirror(view) for view in views]
    return views


def check_zoom_tta(zoom: Sequence[float]) -> tuple[float, ...]:
    """``zoom`` as a tuple of floats, each > 1, or a ValueError naming the bad value."""
    if isinstance(zoom, (str, bytes)) or not isinstance(zoom, Sequence):
        raise ValueError(f"zoom_tta must be a list of enlargement factors > 1, got {zoom!r}")
    for factor in zoom:
        if (isinstance(factor, bool) or not isinstance(factor, (int, float, np.floating))
                or not factor > 1.0 or not np.isfinite(factor)):
            raise ValueError(f"zoom_tta factors must be numbers > 1 (how much to enlarge the "
                             f"image's centre), got {factor!r} in {list(zoom)!r}")
    return tuple(float(factor) for factor in zoom)


def _stacked_views(views: Sequence):
    """``(images, targets) -> every view of the images, view after view`` for ``Dataset.map``:
    a batch of B images becomes one batch of B * len(views)."""
    def stacked(x, y):
        return tf.concat([view(x) for view in views], axis=0)
    return stacked


def _batch_sizes(count: int, batch_size: int) -> list[int]:
    """The sizes of the batches ``make_dataset`` cuts ``count`` images into."""
    return [min(batch_size, count - start) for start in range(0, count, batch_size)]


def _view_average(stacked: np.ndarray, sizes: Sequence[int], views: int) -> np.ndarray:
    """Per-image mean over the views of model outputs for :func:`_stacked_views` batches."""
    averaged, start = [], 0
    for size in sizes:
        block = stacked[start:start + size * views].astype("float64")
        averaged.append(block.reshape(views, size, *block.shape[1:]).mean(axis=0))
        start += size * views
    if start != len(stacked):
        raise ValueError(f"the model returned {len(stacked)} rows for {sum(sizes)} images x "
                         f"{views} views (expected {start})")
    return np.concatenate(averaged)


def _shifted(dy: int, dx: int):
    """Move a batch ``dy`` pixels down and ``dx`` right, filling the edge by reflection."""
    if dy == 0 and dx == 0:
        return lambda x: x

    def view(x):
        pad = max(abs(dy), abs(dx))
        height, width = tf.shape(x)[1], tf.shape(x)[2]
        padded = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
        return padded[:, pad - dy:pad - dy + height, pad - dx:pad - dx + width, :]
    return view


def _enlarged(factor: float):
    """Enlarge a batch ``factor`` times (bilinear, to ``round(factor * size)`` pixels a side)
    and keep the centre, at the original size."""
    def view(x):
        height, width = tf.shape(x)[1], tf.shape(x)[2]
        big_h, big_w = (tf.cast(tf.round(factor * tf.cast(side, tf.float32)), tf.int32)
                        for side in (height, width))
        big = tf.image.resize(x, tf.stack([big_h, big_w]), method="bilinear")
        top, left = (big_h - height) // 2, (big_w - width) // 2
        return tf.cast(big[:, top:top + height, left:left + width, :], x.dtype)
    return view


def _then_mirror(view):
    return lambda x: tf.reverse(view(x), axis=[2])


def _as_heads(outputs) -> dict[str, np.ndarray]:
    return outputs if isinstance(outputs, dict) else {"emotion": outputs}


def evaluate_model(model: keras.Model, samples: Samples, out_dir: str | Path | None = None,
                   batch_size: int = 64, au_threshold: float = 0.5,
                   flip_tta: bool = False, shift_tta: int = 0,
                   zoom_tta: Sequence[float] = ()) -> Evaluation:
    """Predict ``samples`` and compute emotion and AU metrics; write them if ``out_dir``.
    ``flip_tta`` / ``shift_tta`` / ``zoom_tta``: test-time augmentation, as in
    :func:`predict`. When the frame says which rows have a duplicate in train or val (the
    ``test_has_train_duplicate`` column, see :mod:`ferkit.data.holdout`), the summary also
    holds the emotion figures without those rows (``dedup_emotion_accuracy``, ...,
    ``dedup_rows``, ``duplicate_rows``; :func:`ferkit.evaluation.dedup.dedup_summary`)."""
    outputs = predict(model, samples, batch_size, flip_tta, shift_tta, zoom_tta)
    probabilities = np.asarray(outputs["emotion"], dtype="float64")
    y_true, y_pred = samples.labels, probabilities.argmax(axis=1)
    classes = list(samples.classes)
    summary = {f"emotion_{k}": v for k, v in metrics.summary(y_true, y_pred, classes, probabilities).items()}
    if dedup.has_duplicate_column(samples.frame):
        summary.update(dedup.dedup_summary(y_true, y_pred, classes,
                                           samples.frame[dedup.DUPLICATE_FLAG], probabilities))
    report = metrics.classification_report(y_true, y_pred, classes, probabilities)
    confusion = metrics.confusion_matrix(y_true, y_pred, classes)
    predictions = samples.frame.drop(columns=["image_index"], errors="ignore").assign(
        predicted=y_pred, predicted_name=[classes[i] for i in y_pred])
    for i, name in enumerate(classes):
        predictions[f"p_{name}"] = probabilities[:, i]
    au_report = None
    if "au" in outputs:
        au_scores = np.asarray(outputs["au"], dtype="float64")
        names = samples.au_columns
        au_report = metrics.multilabel_report(samples.au_matrix, au_scores, names, au_threshold)
        au_summary = metrics.multilabel_summary(samples.au_matrix, au_scores, names, au_threshold)
        summary.update({f"au_{k}": v for k, v in au_summary.items()})
        for i, name in enumerate(names):
            predictions[f"score_{name}"] = au_scores[:, i]
    result = Evaluation(summary, report, confusion, au_report, predictions)
    if out_dir is not None:
        write_evaluation(result, out_dir)
    return result


def write_evaluation(result: Evaluation, out_dir: str | Path) -> Path:
    """CSV + Markdown tables, ``metrics.json`` and PNG plots into ``out_dir``."""
    out_dir = Path(out_dir)
    plots_dir = out_dir / RunDir.PLOTS
    plots_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / RunDir.METRICS, result.summary)  # read back by resumed workflows
    tables = {"emotion_report": result.emotion_report, "confusion_matrix": result.confusion}
    if result.au_report is not None:
        tables["au_report"] = result.au_report
    for name, table in tables.items():
        write_text_atomic(out_dir / f"{name}.csv", table.to_csv())
        write_text_atomic(out_dir / f"{name}.md", to_markdown(table))
    write_text_atomic(out_dir / RunDir.PREDICTIONS, result.predictions.to_csv(index=False))
    plots.plot_confusion_matrix(result.confusion, plots_dir / "confusion_matrix.png",
                                title="Emotion confusion matrix (test)")
    plots.plot_per_class(result.emotion_report, plots_dir / "emotion_f1.png")
    if result.au_report is not None:
        plots.plot_per_class(result.au_report, plots_dir / "au_f1.png")
    return out_dir
