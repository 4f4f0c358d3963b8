"""``ferkit tune``: a cross-validated hyperparameter search of one config (KerasTuner)."""
from __future__ import annotations

import argparse

from ferkit.cli._options import add_config_options, load_config_from_args, out_dir


def run(args: argparse.Namespace) -> int:
    config = load_config_from_args(args, strategy="train.strategy")  # before TensorFlow loads
    from ferkit.evaluation.tables import to_markdown
    from ferkit.workflows.search import run_search

    out = out_dir(args, f"runs/{config.name}_tune")
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


def register(commands) -> None:
    parser = commands.add_parser(
        "tune", help="cross-validated hyperparameter search (KerasTuner; resumable, "
                     "distributed via KERASTUNER_* variables)")
    add_config_options(parser, out_help="run directory (default runs/<config name>_tune); run "
                                        "again on it to resume")
    parser.add_argument("--strategy", metavar="NAME",
                        help="distribution strategy for each fold's training (overrides "
                             "train.strategy): default or mirrored (this host's GPUs); spread "
                             "trials over hosts with KERASTUNER_* variables "
                             "(docs/guide/scaling.md)")
    parser.add_argument("--quiet", action="store_true", help="no per-fold progress lines")
    parser.set_defaults(run=run)
