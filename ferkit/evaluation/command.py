"""``ferkit evaluate RUN_DIR --data PATH``: score a trained run on a dataset, e.g. FER2013 PublicTest.

The run's own ``config.yaml`` says how to read the data (source, label set, image size,
channels, how it was split), so the images reach the model exactly as in training; only the
data path (and, with ``--source``, the loader) changes. The model is the run's
``model.keras`` (the best epoch) and its classes are the run's ``preprocessing.json``.

Splits are ferkit's ``train`` / ``val`` / ``test``, for FER2013 and FER+ data the CSV's
``Usage`` values (``Training``, ``PublicTest``, ``PrivateTest``), or ``all``. By default: ``PublicTest`` for FER2013 / FER+ data, otherwise the split the run
was scored on (``run.json``'s ``evaluated_on``). Sources without a split of their own are
split as in training (same method, fractions and seed), so ``test`` is the run's test split
when the data is the same.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ferkit.data.fer2013 import USAGE_TO_SPLIT
from ferkit.data.samples import Samples

FER_SOURCES = ("fer2013", "ferplus")
SPLITS = ("train", "val", "test")
ALL = "all"
CONFIG_FILE = "config.yaml"


@dataclasses.dataclass
class RunEvaluation:
    """One ``ferkit evaluate`` result: the figures, what was scored, and where it was written."""

    evaluation: "object"  # ferkit.evaluation.evaluate.Evaluation (TensorFlow imported lazily)
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


def source_names() -> tuple[str, ...]:
    """Every ``data.source`` a config accepts."""
    from ferkit.config import DataConfig

    return typing.get_args(typing.get_type_hints(DataConfig)["source"])


def run_config(run_dir: Path, data: str | Path, source: str | None = None):
    """The run's config with ``data.path`` (and ``data.source``) replaced for evaluation.

    FER+ votes (mixed in, or a second target) only shape training, so they are switched off:
    evaluation scores the dataset's own labels and needs no vote file.
    """
    from ferkit.config import load_config

    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no {CONFIG_FILE}, so how the run read its data is "
                                "unknown (not a ferkit run directory?)")
    overrides = [f"data.path={Path(data)}", "data.ferplus_mix=0.0", "data.ferplus_aux=false"]
    if source is not None:
        overrides.append(f"data.source={source}")
    return load_config(path, overrides)


def resolve_split(requested: str | None, source: str, run_dir: Path) -> str:
    """The split to score: ``requested``, checked, or the default for ``source``."""
    if requested is None:
        return "PublicTest" if source in FER_SOURCES else _evaluated_on(run_dir)
    if requested == ALL or requested in SPLITS:
        return requested
    if requested in USAGE_TO_SPLIT:
        if source not in FER_SOURCES:
            raise ValueError(f"--split {requested}: FER2013 Usage names apply to the fer2013 "
                             f"and ferplus sources, not {source!r}; use one of {list(SPLITS)}")
        return requested
    raise ValueError(f"--split {requested!r} is not a split; choose one of "
                     f"{[*SPLITS, *USAGE_TO_SPLIT, ALL]}")


def _evaluated_on(run_dir: Path) -> str:
    path = run_dir / "run.json"
    try:
        split = json.loads(path.read_text()).get("evaluated_on", "test")
    except (OSError, json.JSONDecodeError):
        return "test"
    return split if split in SPLITS else "test"


def select_split(samples: Samples, config, split: str) -> Samples:
    """The rows of ``split`` (see :func:`resolve_split`).

    A FER2013 ``Usage`` name selects by the CSV's own ``Usage`` column. A ferkit split is
    the source's own split when the run used it (``split.method: predefined``), else the
    run's split method re-applied with its seed.
    """
    from ferkit.training.experiment import assign_splits

    if split == ALL:
        return samples
    if split in USAGE_TO_SPLIT:
        column = samples.frame["usage"].to_numpy()
        chosen, found = samples.subset(column == split), samples.frame["usage"]
    else:
        if config.split.method != "predefined" or "split" not in samples.frame.columns:
            samples = assign_splits(samples, config.split, config.seed)
        chosen, found = samples.split(split), samples.frame["split"]
    if not len(chosen):
        raise ValueError(f"{samples.source or config.data.path}: no images in split {split!r} "
                         f"(the data has {found.value_counts().to_dict() or 'none'}); choose "
                         "another --split")
    return chosen


def match_classes(samples: Samples, classes: tuple[str, ...], run_dir: Path) -> Samples:
    """``samples`` relabelled into the run's class order; an error when the names differ."""
    if tuple(samples.classes) == tuple(classes):
        return samples
    missing, extra = sorted(set(classes) - set(samples.classes)), sorted(set(samples.classes) - set(classes))
    if missing or extra:
        raise ValueError(f"class mismatch: the run {run_dir} predicts {list(classes)} but the "
                         f"data {samples.source} has {list(samples.classes)} (not in the data: "
                         f"{missing or 'none'}; not known to the model: {extra or 'none'})")
    order = np.array([classes.index(name) for name in samples.classes])
    frame = samples.frame.assign(label=order[samples.frame["label"].to_numpy()])
    return dataclasses.replace(samples, frame=frame, classes=tuple(classes))


def _emotion_only(model):
    """The emotion head alone, for data without the model's action-unit labels."""
    import keras

    return keras.Model(model.inputs, model.output["emotion"], name=f"{model.name}_emotion")


def tta_label(flip_tta: bool, shift_tta: int = 0, zoom_tta: Sequence[float] = ()) -> str:
    """``"flip TTA"``, ``"flip + shift 2 px TTA"``, ``"flip + shift 2 px + zoom 1.08/1.16
    TTA"`` or ``""``."""
    parts = (["flip"] if flip_tta else []) + ([f"shift {shift_tta} px"] if shift_tta else [])
    parts += [f"zoom {'/'.join(f'{factor:g}' for factor in zoom_tta)}"] if zoom_tta else []
    return f"{' + '.join(parts)} TTA" if parts else ""


def default_out(run_dir: Path, data: str | Path, split_name: str, flip_tta: bool,
                shift_tta: int = 0, zoom_tta: Sequence[float] = ()) -> Path:
    """``RUN_DIR/evaluate_<dataset>_<split>[_tta][_shiftN][_zoomA-B]``; the dataset is the
    data path's stem."""
    dataset = Path(data).name.split(".")[0] or "data"
    suffix = ("_tta" if flip_tta else "") + (f"_shift{shift_tta}" if shift_tta else "")
    suffix += f"_zoom{'-'.join(f'{factor:g}' for factor in zoom_tta)}" if zoom_tta else ""
    return run_dir / f"evaluate_{dataset}_{split_name}{suffix}"


def evaluate_run(run_dir: str | Path, data: str | Path, source: str | None = None,
                 split: str | None = None, out: str | Path | None = None,
                 flip_tta: bool = False, batch_size: int = 64,
                 shift_tta: int = 0, zoom_tta: Sequence[float] = ()) -> RunEvaluation:
    """Score ``run_dir``'s model on ``split`` of the dataset at ``data`` and write the tables.

    Writes the standard evaluation files (``metrics.json``, ``emotion_report.{csv,md}``,
    ``confusion_matrix.{csv,md}``, ``predictions.csv``, ``plots/*.png``) and
    ``evaluation.json`` (what was scored) to ``out``.
    """
    from ferkit.evaluation import plots
    from ferkit.evaluation.evaluate import check_zoom_tta, evaluate_model
    from ferkit.inference import fitted_preprocessing, load_preprocessing, load_run_model, MODEL_FILE
    from ferkit.data.sources import load_from_config

    run_dir = Path(run_dir)
    zoom_tta = check_zoom_tta(zoom_tta)  # before the model and the data are loaded
    model = load_run_model(run_dir)
    preprocessing = fitted_preprocessing(model, load_preprocessing(run_dir), str(run_dir / MODEL_FILE))
    if not Path(data).exists():
        raise FileNotFoundError(f"data path {data} does not exist")
    config = run_config(run_dir, data, source)
    if preprocessing.aus and config.data.source == "ckplus":
        config.data.aus = list(preprocessing.aus)  # the model's AU head, whatever the data's counts
    split = resolve_split(split, config.data.source, run_dir)
    samples = load_from_config(config.data, run_dir, config.seed)
    samples = match_classes(select_split(samples, config, split), preprocessing.classes, run_dir)
    if isinstance(model.output, dict) and "au" in model.output and not samples.aus:
        model = _emotion_only(model)
    out = Path(out) if out is not None else default_out(run_dir, data, split, flip_tta, shift_tta,
                                                         zoom_tta)
    evaluation = evaluate_model(model, samples, out, batch_size=batch_size, flip_tta=flip_tta,
                                shift_tta=shift_tta, zoom_tta=zoom_tta)
    tta = tta_label(flip_tta, shift_tta, zoom_tta)
    title = f"{Path(data).name} {split}{f' ({tta})' if tta else ''}"
    plots.plot_confusion_matrix(evaluation.confusion, out / "plots" / "confusion_matrix.png",
                                title=f"Emotion confusion matrix: {title}")
    (out / "evaluation.json").write_text(json.dumps({
        "run": str(run_dir), "data": str(data), "source": config.data.source,
        "split": split, "images": len(samples), "flip_tta": flip_tta,
        "shift_tta": shift_tta, "zoom_tta": list(zoom_tta), "classes": list(preprocessing.classes),
        **evaluation.summary}, indent=1))
    return RunEvaluation(evaluation, out, split, len(samples), flip_tta, shift_tta, zoom_tta)


# --------------------------------------------------------------------------- command line
def run_evaluate_command(args: argparse.Namespace) -> int:
    """``ferkit evaluate``: score, write, print accuracy and macro-F1."""
    result = evaluate_run(args.run_dir, args.data, args.source, args.split, args.out, args.tta,
                          args.batch_size, args.tta_shift, tuple(args.tta_zoom))
    print(f"{result.split}: {result.images} images{', ' + result.tta if result.tta else ''}")
    print(f"accuracy  {result.accuracy:.4f}")
    print(f"macro-F1  {result.macro_f1:.4f}")
    print(f"wrote {result.out_dir}")
    return 0


def add_evaluate_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``evaluate RUN_DIR --data PATH [--source S] [--split NAME] [--out DIR] [--tta]
    [--tta-shift PIXELS] [--tta-zoom FACTOR ...]``."""
    parser = subparsers.add_parser(
        "evaluate", help="score a trained run on a dataset split (tables, confusion matrix)",
        description="Load RUN_DIR/model.keras, read --data with the run's own data settings "
                    "and score one split: accuracy, macro-F1, per-class report, confusion matrix.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory holding model.keras "
                                                           "and config.yaml")
    parser.add_argument("--data", required=True, help="dataset path (replaces the run's data.path)")
    parser.add_argument("--source", choices=source_names(),
                        help="loader for --data (default: the run's data.source)")
    parser.add_argument("--split", help="train, val, test, all, or for FER2013/FER+ Training, "
                                        "PublicTest, PrivateTest (default: PublicTest for "
                                        "FER2013/FER+, else the split the run was scored on)")
    parser.add_argument("--out", help="output folder (default RUN_DIR/evaluate_<dataset>_<split>)")
    parser.add_argument("--tta", action="store_true", help="average each image's prediction "
                                                           "with its mirror image's")
    parser.add_argument("--tta-shift", type=_pixels, default=0, metavar="PIXELS",
                        help="also average over the image shifted PIXELS up, down, left and "
                             "right (with --tta: 10 views; the FER2013 recipe uses 2)")
    parser.add_argument("--tta-zoom", type=_enlargement, nargs="+", default=[], metavar="FACTOR",
                        help="also average over the image's centre enlarged by each FACTOR (> 1; "
                             "the FER2013 recipe uses 1.08 1.16, with --tta and --tta-shift 2: "
                             "14 views)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.set_defaults(run=run_evaluate_command)
    return parser


def _pixels(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"--tta-shift needs a whole number of pixels >= 0, "
                                         f"got {text!r}")
    return int(text)


def _enlargement(text: str) -> float:
    try:
        factor = float(text)
    except ValueError:
        factor = float("nan")
    if not factor > 1.0 or factor == float("inf"):
        raise argparse.ArgumentTypeError(f"--tta-zoom needs enlargement factors > 1, e.g. 1.08, "
                                         f"got {text!r}")
    return factor


__all__ = ["RunEvaluation", "add_evaluate_parser", "default_out", "evaluate_run",
           "match_classes", "resolve_split", "run_config", "select_split", "tta_label"]
