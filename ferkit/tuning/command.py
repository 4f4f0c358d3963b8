"""``ferkit tune --config CFG [--data PATH] [--out DIR] [--set KEY=VALUE] [--strategy NAME]``.

Kept apart from :mod:`ferkit.tuning.search` so ``ferkit --help`` does not load KerasTuner.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def _tune_command(args) -> int:
    from ferkit.config import load_config
    from ferkit.evaluation.tables import to_markdown
    from ferkit.tuning.search import run_search

    overrides = list(args.set)
    if args.data:
        overrides.append(f"data.path={args.data}")
    if args.strategy:
        overrides.append(f"train.strategy={args.strategy}")
    config = load_config(args.config, overrides)
    out = Path(args.out) if args.out else Path("runs") / f"{config.name}_tune"
    result = run_search(config, out, verbose=0 if args.quiet else 1)
    if result.table is None:  # a distributed worker: the chief writes the table
        print(f"worker finished trials {result.trials_run}; the chief writes {out}/trials.csv")
        return 0
    print(to_markdown(result.table, index=False))
    print(f"best trial {result.best['trial']}: {result.objective} = {result.best['mean']:.4f} "
          f"± {result.best['std']:.4f} over {config.tune.folds if config.tune else 3} folds")
    print(f"best config: {out / 'best_config.yaml'}  (ferkit train --config ...)")
    print(f"run directory: {out}")
    return 0


def add_tune_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``tune`` to ``ferkit``'s subparsers."""
    parser = subparsers.add_parser(
        "tune", help="cross-validated hyperparameter search (KerasTuner; resumable, "
                     "distributed via KERASTUNER_* variables)")
    parser.add_argument("--config", required=True,
                        help="experiment YAML with a tune: section (see configs/tune_ckplus.yaml)")
    parser.add_argument("--data", help="dataset path (overrides data.path)")
    parser.add_argument("--out", help="run directory (default runs/<config name>_tune); run "
                                      "again on it to resume")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set tune.max_trials=20 (repeatable)")
    parser.add_argument("--strategy", metavar="NAME",
                        help="distribution strategy for each fold's training (overrides "
                             "train.strategy): default or mirrored (this host's GPUs); spread "
                             "trials over hosts with KERASTUNER_* variables (docs/guide/scaling.md)")
    parser.add_argument("--quiet", action="store_true", help="no per-fold progress lines")
    parser.set_defaults(run=_tune_command)
    return parser
