"""Seed 003's occlusion study: how well does a model read each half of the face?

A baseline (ResNet50 in the seed) is trained on full FER2013 faces, then one copy of it is
fine-tuned per half-face mask (upper, lower, left, right: that half set to 0). Every model is
scored on every kind of test image, giving seed 003's Table 2: a trained-on x evaluated-on
matrix of accuracy, macro-F1, weighted F1 and weighted AUC.

Data split (made explicit here, because it is *not* ferkit's predefined FER2013 split, which
maps PublicTest to ``val`` and PrivateTest to ``test``):

* ``Training`` rows -> ``train`` and ``val``: a stratified 90 / 10 cut (``--val-fraction``);
* ``PublicTest`` rows -> ``test`` (``--test-usage PrivateTest`` or ``both`` to change it);
* the remaining FER2013 rows are not used.

Without ``--data`` a synthetic FER2013 CSV is written first. Output under ``--out``::

    full/ upper/ lower/ left/ right/     one run directory per model
    occlusion/matrix.{csv,md,json}       the matrix (tidy CSV; one grid per metric in .md)
    occlusion/<metric>.png               heatmaps

Run it again with the same ``--out`` to reuse finished models.

    python examples/seed003_occlusion.py                               # synthetic data
    python examples/seed003_occlusion.py --data path/to/fer2013 --out runs/seed003
    python examples/seed003_occlusion.py --fast                        # tiny smoke run
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from ferkit import models
from ferkit.config import Config, config_from_dict
from ferkit.data.samples import Samples
from ferkit.data.sources import load_from_config
from ferkit.data.splits import stratified_split
from ferkit.evaluation.occlusion import MATRIX_REGIONS, pivot_matrix
from ferkit.evaluation.tables import to_markdown
from ferkit.workflows.occlusion import occlusion_protocol

MODEL_CHOICES = ("seed003_resnet50", "fer_compact", "ckplus_small")
FAST_MODEL_CHOICES = ("fer_compact", "ckplus_small")
FAST_MODEL_ARGS = {
    "fer_compact": {"stem_filters": 4, "widths": [8], "depths": [1], "se_ratio": 0.0},
    "ckplus_small": {"filters": [4], "blocks": [1], "stem_filters": 4},
}
TEST_USAGES = {"PublicTest": ("PublicTest",), "PrivateTest": ("PrivateTest",),
               "both": ("PublicTest", "PrivateTest")}
#: Seed 003's fine-tuning differs from the baseline only in its L2 strength (5e-4).
FINETUNE_OVERRIDES = ("train.weight_decay=0.0005",)
PRINTED_METRICS = ("accuracy", "macro_f1")


def first_registered(names: tuple[str, ...]) -> str:
    """The first of ``names`` in the model registry."""
    available = set(models.available())
    for name in names:
        if name in available:
            return name
    raise ValueError(f"none of the models {list(names)} is registered")


def build_config(data: str | None, model: str, fast: bool, epochs: int) -> Config:
    """Seed 003's settings: SGD 1e-2, momentum 0.9, 1e-4 weight decay, x0.1 every 5 epochs."""
    raw = {
        "name": "seed003_occlusion", "seed": 0,
        "data": {"source": "fer2013", "path": data, "image_size": [48, 48], "channels": 1,
                 "synthetic": {"images": 1200}},
        "augment": None,
        "model": {"name": model, "args": FAST_MODEL_ARGS.get(model, {}) if fast else {}},
        "train": {"epochs": epochs, "batch_size": 64, "optimizer": "sgd", "learning_rate": 1e-2,
                  "momentum": 0.9, "weight_decay": 1e-4, "schedule": "step", "step_size": 5,
                  "gamma": 0.1, "patience": 8,
                  # XLA slows these CNNs on a CPU (docs/results/training_speed.md)
                  "jit_compile": False},
    }
    if fast:
        raw["data"]["synthetic"] = {"images": 240}
        raw["train"].update(batch_size=32, verbose=0)
    return config_from_dict(raw, "seed003 example")


def seed003_split(samples: Samples, val_fraction: float, test_usage: str, seed: int) -> Samples:
    """Training -> stratified train / val, ``test_usage`` rows -> test, other rows dropped."""
    usage = samples.frame["usage"]
    test_rows = usage.isin(TEST_USAGES[test_usage]).to_numpy()
    train_rows = (usage == "Training").to_numpy()
    if not test_rows.any() or not train_rows.any():
        raise ValueError(f"{samples.source}: need Training and {test_usage} rows, found "
                         f"{usage.value_counts().to_dict()}")
    kept = samples.subset(train_rows | test_rows)
    split = np.where(kept.frame["usage"].isin(TEST_USAGES[test_usage]), "test", "").astype(object)
    training = (kept.frame["usage"] == "Training").to_numpy()
    split[training] = stratified_split(kept.frame[training], (1 - val_fraction, val_fraction),
                                       ("train", "val"), seed=seed).to_numpy()
    return dataclasses.replace(kept, frame=kept.frame.assign(split=split))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder with fer2013.csv(.gz), or the CSV itself "
                                       "(default: write a synthetic one)")
    parser.add_argument("--out", default="runs/seed003_occlusion", help="output folder")
    parser.add_argument("--model", help=f"registered model (default: first of {list(MODEL_CHOICES)}; "
                                        f"with --fast a tiny {FAST_MODEL_CHOICES[0]})")
    parser.add_argument("--epochs", type=int, help="baseline epochs (default 20, 1 with --fast)")
    parser.add_argument("--finetune-epochs", type=int,
                        help="fine-tuning epochs per mask (default: as --epochs)")
    parser.add_argument("--regions", nargs="+", default=list(MATRIX_REGIONS),
                        choices=list(MATRIX_REGIONS), help="masks to fine-tune and evaluate")
    parser.add_argument("--val-fraction", type=float, default=0.1,
                        help="share of Training rows held out for validation")
    parser.add_argument("--test-usage", choices=list(TEST_USAGES), default="PublicTest",
                        help="FER2013 Usage rows used as the test split")
    parser.add_argument("--fast", action="store_true", help="tiny data, model and 1 epoch")
    return parser.parse_args(argv)


def print_matrices(matrix) -> None:
    for metric in PRINTED_METRICS:
        print(f"\n## {metric} (rows: trained on, columns: evaluated on)\n")
        print(to_markdown(pivot_matrix(matrix, metric)), end="")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    model = args.model or first_registered(FAST_MODEL_CHOICES if args.fast else MODEL_CHOICES)
    epochs = args.epochs or (1 if args.fast else 20)
    config = build_config(args.data, model, args.fast, epochs)
    out = Path(args.out)
    samples = load_from_config(config.data, out, config.seed)
    samples = seed003_split(samples, args.val_fraction, args.test_usage, config.seed)
    sizes = samples.frame["split"].value_counts().to_dict()
    print(f"seed 003: occlusion study of {model} on {args.data or 'synthetic FER2013'} "
          f"(train {sizes.get('train', 0)}, val {sizes.get('val', 0)}, test {sizes.get('test', 0)} "
          f"= {args.test_usage}) -> {out}", flush=True)
    result = occlusion_protocol(config, out, regions=args.regions,
                                finetune_epochs=args.finetune_epochs, samples=samples,
                                finetune_overrides=FINETUNE_OVERRIDES)
    print_matrices(result.matrix)
    print(f"\ndone in {time.perf_counter() - start:.0f} s; matrix and heatmaps under {out / 'occlusion'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
