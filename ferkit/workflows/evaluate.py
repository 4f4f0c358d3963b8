"""``evaluate_run``: score a trained run on a dataset, e.g. FER2013 PublicTest.

The run's own ``config.yaml`` says how to read the data (source, label set, image size,
channels, how it was split), so the images reach the model exactly as in training; only the
data path (and, with ``source``, the loader) changes. The model is the run's ``model.keras``
(the best epoch) and its classes are the run's ``preprocessing.json``. The test-time views
default to the run config's ``evaluate`` section (none unless the config sets them).

Which split is scored is :func:`ferkit.evaluation.selection.resolve_split`'s rule. Sources
without a split of their own are split as in training (same method, fractions and seed), so
``test`` is the run's test split when the data is the same.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import keras

from ferkit.config import Config, EvaluateConfig, load_config
from ferkit.data import holdout
from ferkit.data.samples import Samples
from ferkit.data.sources import load_from_config
from ferkit.data.sources.fer2013 import USAGE_TO_SPLIT
from ferkit.evaluation import plots
from ferkit.evaluation.evaluate import Evaluation, check_zoom_tta, evaluate_model
from ferkit.evaluation.selection import (
    ALL, default_out, match_classes, resolve_split, tta_label,
)
from ferkit.inference import fitted_preprocessing, load_run_model
from ferkit.runs import RunDir, load_preprocessing, write_json_atomic
from ferkit.workflows.experiment import assign_splits


@dataclasses.dataclass
class RunEvaluation:
    """One ``ferkit evaluate`` result: the figures, what was scored, and where it was written."""

    evaluation: Evaluation
    out_dir: Path
    split: str
    images: int
    flip_tta: bool
    shift_tta: int = 0
    zoom_tta: tuple[float, ...] = ()

    @property
    def tta(self) -> str:
        """The test-time views in words ("" without TTA)."""
        return tta_label(self.flip_tta, self.shift_tta, self.zoom_tta)

    @property
    def accuracy(self) -> float:
        return float(self.evaluation.summary["emotion_accuracy"])

    @property
    def macro_f1(self) -> float:
        return float(self.evaluation.summary["emotion_macro_f1"])


def run_config(run_dir: Path, data: str | Path, source: str | None = None) -> Config:
    """The run's config with ``data.path`` (and ``data.source``) replaced for evaluation.

    FER+ votes (mixed in, or a second target) only shape training, so they are switched off:
    evaluation scores the dataset's own labels and needs no vote file.
    """
    path = RunDir(run_dir) / RunDir.CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no {RunDir.CONFIG}, so how the run read its data "
                                "is unknown (not a ferkit run directory?)")
    overrides = [f"data.path={Path(data)}", "data.ferplus_mix=0.0", "data.ferplus_aux=false"]
    if source is not None:
        overrides.append(f"data.source={source}")
    return load_config(path, overrides)


def select_split(samples: Samples, config: Config, split: str) -> Samples:
    """The rows of ``split`` (see :func:`~ferkit.evaluation.selection.resolve_split`).

    A FER2013 ``Usage`` name selects by the CSV's own ``Usage`` column. A ferkit split is
    the source's own split when the run used it as it is (``split.method: predefined``),
    else the run's split (method or carved validation) re-applied with its seed. Where the
    run reports de-duplicated figures (``split.report_dedup``), the rows say which have a
    duplicate in the rows trained or selected on, so the scores come de-duplicated too.
    """
    if split == ALL:
        return samples
    if split in USAGE_TO_SPLIT:
        if config.split.method == "predefined":
            samples = _marked(samples, config)
        column = samples.frame["usage"].to_numpy()
        chosen, found = samples.subset(column == split), samples.frame["usage"]
    else:
        if (config.split.method != "predefined" or config.split.val_fraction is not None
                or "split" not in samples.frame.columns):
            samples = assign_splits(samples, config.split, config.seed)
        else:
            samples = _marked(samples, config)
        chosen, found = samples.split(split), samples.frame["split"]
    if not len(chosen):
        raise ValueError(f"{samples.source or config.data.path}: no images in split {split!r} "
                         f"(the data has {found.value_counts().to_dict() or 'none'}); choose "
                         "another --split")
    return chosen


def _marked(samples: Samples, config: Config) -> Samples:
    """``samples`` (in the source's own split) with their held-out duplicates marked, where
    the run reports de-duplicated figures; a PublicTest face is marked when it has a copy
    in Training, carved validation or not."""
    if not config.split.report_dedup or "split" not in samples.frame.columns:
        return samples
    return holdout.mark_held_out_duplicates(samples, config.split.duplicates)


def _emotion_only(model: keras.Model) -> keras.Model:
    """The emotion head alone, for data without the model's action-unit labels."""
    return keras.Model(model.inputs, model.output["emotion"], name=f"{model.name}_emotion")


def _views(config: Config, flip_tta: bool | None, shift_tta: int | None,
           zoom_tta: Sequence[float] | None) -> EvaluateConfig:
    """The TTA settings: each one given, else the run config's ``evaluate`` value."""
    settings = getattr(config, "evaluate", None) or EvaluateConfig()
    return EvaluateConfig(
        flip_tta=settings.flip_tta if flip_tta is None else bool(flip_tta),
        shift_tta=settings.shift_tta if shift_tta is None else shift_tta,
        zoom_tta=list(settings.zoom_tta if zoom_tta is None else check_zoom_tta(zoom_tta)))


def evaluate_run(run_dir: str | Path, data: str | Path, source: str | None = None,
                 split: str | None = None, out: str | Path | None = None,
                 flip_tta: bool | None = None, batch_size: int = 64,
                 shift_tta: int | None = None,
                 zoom_tta: Sequence[float] | None = None) -> RunEvaluation:
    """Score ``run_dir``'s model on ``split`` of the dataset at ``data`` and write the tables.

    ``flip_tta`` / ``shift_tta`` / ``zoom_tta`` left at None take the run config's
    ``evaluate`` values. Writes the standard evaluation files (``metrics.json``,
    ``emotion_report.{csv,md}``, ``confusion_matrix.{csv,md}``, ``predictions.csv``,
    ``plots/*.png``) and ``evaluation.json`` (what was scored) to ``out``.
    """
    run_dir = Path(run_dir)
    if zoom_tta is not None:
        check_zoom_tta(zoom_tta)  # before the model and the data are loaded
    model = load_run_model(run_dir)
    preprocessing = fitted_preprocessing(model, load_preprocessing(run_dir),
                                         str(RunDir(run_dir) / RunDir.MODEL))
    if not Path(data).exists():
        raise FileNotFoundError(f"data path {data} does not exist")
    config = run_config(run_dir, data, source)
    views = _views(config, flip_tta, shift_tta, zoom_tta)
    zoom = tuple(views.zoom_tta)
    if preprocessing.aus and config.data.source == "ckplus":
        config.data.aus = list(preprocessing.aus)  # the model's AU head, whatever the data's counts
    split = resolve_split(split, config.data.source, run_dir)
    samples = load_from_config(config.data, run_dir, config.seed)
    samples = match_classes(select_split(samples, config, split), preprocessing.classes, run_dir)
    if isinstance(model.output, dict) and "au" in model.output and not samples.aus:
        model = _emotion_only(model)
    out = (Path(out) if out is not None
           else default_out(run_dir, data, split, views.flip_tta, views.shift_tta, zoom))
    evaluation = evaluate_model(model, samples, out, batch_size=batch_size,
                                flip_tta=views.flip_tta, shift_tta=views.shift_tta, zoom_tta=zoom)
    tta = tta_label(views.flip_tta, views.shift_tta, zoom)
    title = f"{Path(data).name} {split}{f' ({tta})' if tta else ''}"
    plots.plot_confusion_matrix(evaluation.confusion,
                                out / RunDir.PLOTS / "confusion_matrix.png",
                                title=f"Emotion confusion matrix: {title}")
    write_json_atomic(out / RunDir.EVALUATION, {
        "run": str(run_dir), "data": str(data), "source": config.data.source,
        "split": split, "images": len(samples), "flip_tta": views.flip_tta,
        "shift_tta": views.shift_tta, "zoom_tta": list(zoom),
        "classes": list(preprocessing.classes), **evaluation.summary})
    return RunEvaluation(evaluation, out, split, len(samples), views.flip_tta, views.shift_tta,
                         zoom)


__all__ = ["RunEvaluation", "evaluate_run", "run_config", "select_split"]
