"""``run_experiment``: one config in, one run directory out (data, split, fit, evaluation).

Run directory::

    config.yaml  splits.csv  model.keras  history.json  training_log.csv  metrics.json
    emotion_report.{csv,md}  confusion_matrix.{csv,md}  au_report.{csv,md}  predictions.csv
    plots/{history,confusion_matrix,emotion_f1,au_f1}.png
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import keras

from ferkit import models
from ferkit.config import Config, save_config
from ferkit.data import synthetic
from ferkit.data.augment import build_augmenter
from ferkit.data.ckplus import load_ckplus, read_images
from ferkit.data.pipeline import make_dataset
from ferkit.data.samples import Samples
from ferkit.data.splits import assert_disjoint, group_split
from ferkit.evaluation.evaluate import Evaluation, evaluate_model
from ferkit.training.compile import compile_model
from ferkit.training.fit import BEST_MODEL, fit

SPLITS = ("train", "val", "test")


@dataclasses.dataclass
class RunResult:
    """What a finished run produced; everything is also on disk under ``run_dir``."""

    run_dir: Path
    model: keras.Model
    samples: Samples
    history: dict[str, list[float]]
    evaluation: Evaluation
    seconds: float


def prepare_data(config: Config, run_dir: Path) -> Samples:
    """Load (or first synthesise) the CK+ tree, read images, and add a ``split`` column."""
    data = config.data
    root = Path(data.path) if data.path else _synthesise(config, run_dir / "synthetic_ckplus")
    samples = load_ckplus(root, labels=data.labels, n_peak=data.n_peak, aus=data.aus,
                          min_au_count=data.min_au_count)
    samples = read_images(samples, tuple(data.image_size), data.channels)
    split = group_split(samples.frame, config.split.fractions, SPLITS, group=config.split.by,
                        seed=config.seed)
    samples.frame["split"] = split.to_numpy()
    assert_disjoint(samples.frame, config.split.by)
    return samples


def _synthesise(config: Config, root: Path) -> Path:
    spec = config.data.synthetic
    if not (root / "Emotion").is_dir() and not (root / "CK+48").is_dir():
        synthetic.write_ckplus(root, n_subjects=spec.subjects,
                               sequences_per_subject=spec.sequences_per_subject,
                               frames_per_sequence=spec.frames_per_sequence, seed=config.seed,
                               layout=spec.layout)
    return root


def build_model(config: Config, samples: Samples) -> keras.Model:
    """The configured model, sized to the data's image shape, classes and AUs."""
    size, channels = config.data.image_size, config.data.channels
    args = dict(input_shape=(size[0], size[1], channels), num_classes=len(samples.classes),
                num_aus=len(samples.aus))
    args.update(config.model.args)
    return models.build(config.model.name, **args)


def run_experiment(config: Config, run_dir: str | Path) -> RunResult:
    """Train and evaluate ``config`` into ``run_dir`` and return the result."""
    start = time.perf_counter()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / "config.yaml")
    keras.utils.set_random_seed(config.seed)
    samples = prepare_data(config, run_dir)
    samples.frame.drop(columns=["image_index"]).to_csv(run_dir / "splits.csv", index=False)
    model = build_model(config, samples)
    heads = list(model.output.keys())
    train = config.train
    compile_model(model, train.learning_rate, train.au_loss_weight, train.jit_compile)
    augmenter = build_augmenter(config.augment, config.seed) if config.augment else None
    train_ds = make_dataset(samples.split("train"), batch_size=train.batch_size, training=True,
                            augmenter=augmenter, heads=heads, seed=config.seed)
    val_ds = make_dataset(samples.split("val"), batch_size=train.batch_size, heads=heads)
    history = fit(model, train_ds, val_ds, run_dir, train.epochs, train.patience, train.verbose)
    evaluation = evaluate_model(model, samples.split("test"), run_dir)
    seconds = time.perf_counter() - start
    (run_dir / "run.json").write_text(json.dumps(
        {"seconds": seconds, "epochs_run": len(history.get("loss", [])),
         "split_sizes": samples.frame["split"].value_counts().to_dict(),
         "classes": list(samples.classes), "aus": list(samples.aus),
         "model": model.name, "parameters": int(model.count_params()),
         "best_model": BEST_MODEL}, indent=1))
    return RunResult(run_dir, model, samples, history, evaluation, seconds)
