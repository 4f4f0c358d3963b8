"""Seed 000's evaluation: 10-fold cross-validation, then a race / gender bias table.

The setup follows seed 000: four classes (Angry, Happy, Focused, Neutral) in class folders of
96x96 RGB images named ``Expression_Race_Gender_Index`` (FANE style), 10 stratified folds with
an 85 / 15 train / validation split inside each, early stopping with patience 6. The bias
table is computed on the pooled out-of-fold test predictions, so every image is scored by a
model that never saw it.

Without ``--data`` a synthetic stand-in is written first (the synthetic skin-tone group plays
the part of "race"). Everything goes under ``--out``::

    kfold/        fold_01 ... fold_10, kfold.{csv,md,json}, oof_predictions.csv, plots/
    fairness/     fairness_*.csv, fairness.md, fairness.json, plots/

Run it again with the same ``--out`` to continue an interrupted cross-validation.

    python examples/seed000_kfold_bias.py                      # synthetic, 10 folds
    python examples/seed000_kfold_bias.py --data /data/definitive --out runs/seed000
    python examples/seed000_kfold_bias.py --fast               # tiny smoke run (~1 min)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ferkit import models
from ferkit.config import Config, config_from_dict
from ferkit.evaluation.fairness import fairness_report
from ferkit.evaluation.tables import to_markdown
from ferkit.workflows.kfold import KFoldResult, cross_validate

#: Class folder -> synthetic expression drawn for it (the generator has no "focused" face).
SYNTHETIC_CLASSES = {"Angry": "anger", "Happy": "happy", "Focused": "contempt", "Neutral": "neutral"}
MODEL_CHOICES = ("seed000_main", "fer_compact", "ckplus_small")
#: Tiny architectures for --fast, per model.
FAST_MODEL_ARGS = {
    "seed000_main": {"filters": [4, 4, 8, 8, 8], "dense_units": 16},
    "fer_compact": {"stem_filters": 4, "widths": [8], "depths": [1], "se_ratio": 0.0},
    "ckplus_small": {"filters": [4], "blocks": [1], "stem_filters": 4},
}
ATTRIBUTES = ("race", "gender")


def first_registered(names: tuple[str, ...]) -> str:
    """The first of ``names`` in the model registry."""
    available = set(models.available())
    for name in names:
        if name in available:
            return name
    raise ValueError(f"none of the models {list(names)} is registered")


def build_config(data: str | None, model: str, fast: bool, epochs: int | None) -> Config:
    """Seed 000's settings: Adam at 1e-3 with 1e-4 weight decay (AdamW here: decoupled decay,
    where the seed's PyTorch Adam added it to the gradient), batch 128, up to 60 epochs with
    patience 6, random flips and rotations up to 10 degrees."""
    train = {"epochs": 60, "patience": 6, "batch_size": 128, "learning_rate": 1e-3,
             "optimizer": "adamw", "weight_decay": 1e-4}
    raw = {
        "name": "seed000_kfold", "seed": 0,
        "data": {"source": "filenames", "path": data, "template": "{expression}_{race}_{gender}_{index}",
                 "image_size": [96, 96], "channels": 3,
                 "synthetic": {"classes": SYNTHETIC_CLASSES, "images": 800}},
        "augment": {"flip": True, "rotation": 10.0, "shift": 0.0, "brightness": 0.0, "contrast": 0.0},
        "model": {"name": model},
        "train": train,
    }
    if fast:
        raw["data"].update(image_size=[32, 32], synthetic={"classes": SYNTHETIC_CLASSES, "images": 72})
        raw["model"]["args"] = FAST_MODEL_ARGS.get(model, {})
        raw["augment"] = None
        train.update(epochs=1, batch_size=32, jit_compile=False, verbose=0)
    if epochs is not None:
        train["epochs"] = epochs
    return config_from_dict(raw, "seed000 example")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="class folders of Expression_Race_Gender_Index images "
                                       "(default: write synthetic ones)")
    parser.add_argument("--out", default="runs/seed000_kfold", help="output folder")
    parser.add_argument("--folds", type=int, help="number of folds (default 10, 3 with --fast)")
    parser.add_argument("--model", help=f"registered model (default: first of {list(MODEL_CHOICES)})")
    parser.add_argument("--epochs", type=int, help="maximum epochs per fold (default 60)")
    parser.add_argument("--group", help="keep this column's groups (e.g. subject) in one split")
    parser.add_argument("--fast", action="store_true", help="tiny data, model and 1 epoch")
    return parser.parse_args(argv)


def bias_tables(result: KFoldResult, out_dir: Path, n_boot: int):
    """Per-group metrics of the pooled out-of-fold predictions, written under ``out_dir``."""
    report = fairness_report(result.predictions, list(ATTRIBUTES), result.classes, n_boot=n_boot)
    report.write(out_dir)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    model = args.model or first_registered(MODEL_CHOICES)
    folds = args.folds or (3 if args.fast else 10)
    config = build_config(args.data, model, args.fast, args.epochs)
    out = Path(args.out)
    print(f"seed 000: {folds}-fold cross-validation of {model} on "
          f"{args.data or 'synthetic class folders'} -> {out}", flush=True)
    result = cross_validate(config, out / "kfold", k=folds, group=args.group)
    print(f"\n## {folds}-fold cross-validation ({model})\n")
    print(result.to_markdown())
    report = bias_tables(result, out / "fairness", n_boot=100 if args.fast else 1000)
    print("## Bias analysis (pooled out-of-fold test predictions)\n")
    print(to_markdown(report.by_group, index=False))
    print(to_markdown(report.disparities, index=False))
    print(f"done in {time.perf_counter() - start:.0f} s; tables and plots under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
