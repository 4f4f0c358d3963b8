"""Seed 004's hyperparameter search (filters, L2 lambda, epochs) on the multi-task CK+ model.

    python examples/tune_ckplus.py                      # synthetic CK+ tree, no download
    python examples/tune_ckplus.py --data path/to/CK+48 --set tune.max_trials=6
    python examples/tune_ckplus.py --fast               # a tiny smoke search (tests use it)

Each trial trains one model per subject-grouped fold (3 folds) and is scored by its mean
held-out emotion accuracy. The run directory (default ``runs/tune_ckplus``) holds the results
table (``trials.csv`` / ``trials.md``), plots, and ``best_config.yaml`` to train the winner
with ``ferkit train``. Running the same command again resumes an interrupted search.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ferkit.config import load_config
from ferkit.evaluation.tables import to_markdown
from ferkit.workflows import run_search

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "tune_ckplus.yaml"
FAST = [
    "data.synthetic.subjects=6", "data.synthetic.sequences_per_subject=7",
    "data.synthetic.frames_per_sequence=3", "data.min_au_count=2", "data.image_size=[24, 24]",
    "augment=null", "model.args={filters: [4], blocks: [1], stem_filters: 4}",
    "train.jit_compile=false", "train.batch_size=16",
    "tune.max_trials=2", "tune.folds=2", "tune.val_fraction=0.3",
    "tune.space={filters: {type: choice, values: [4, 8]}, "
    "l2: {type: float, min: 1.0e-5, max: 1.0e-1, sampling: log}, "
    "epochs: {type: choice, values: [1]}}",
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="CK+ tree or CK+48 folder with FACS/; synthetic when omitted")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="config with a tune: section")
    parser.add_argument("--out", default="runs/tune_ckplus", help="run directory (resumable)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. --set tune.max_trials=4 (repeatable)")
    parser.add_argument("--fast", action="store_true",
                        help="tiny data and model, 2 trials x 2 folds of 1 epoch")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    overrides = (FAST if args.fast else []) + args.set
    if args.data:
        overrides.append(f"data.path={args.data}")
    config = load_config(args.config, overrides)
    result = run_search(config, args.out)
    if result.table is None:  # a distributed worker; the chief writes the results
        return 0
    print("\n" + to_markdown(result.table, index=False))
    best = result.best
    print(f"Best trial {best['trial']}: {result.objective} {best['mean']:.3f} ± {best['std']:.3f} "
          f"over {config.tune.folds} folds with {result.best_values}")
    print(f"Train it: ferkit train --config {Path(args.out) / 'best_config.yaml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
