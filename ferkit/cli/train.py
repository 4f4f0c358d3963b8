"""``ferkit train``: train and evaluate one config into a run directory."""
from __future__ import annotations

import argparse

from ferkit.cli._options import add_config_options, load_config_from_args, out_dir


def run(args: argparse.Namespace) -> int:
    config = load_config_from_args(args, strategy="train.strategy")  # before TensorFlow loads
    from ferkit.workflows.experiment import run_experiment

    result = run_experiment(config, out_dir(args, f"runs/{config.name}"))
    for key, value in result.evaluation.summary.items():
        print(f"{key:28s} {value:.4f}")
    print(f"run directory: {result.run_dir}")
    return 0


def register(commands) -> None:
    parser = commands.add_parser("train", help="train and evaluate one config into a run directory")
    add_config_options(parser, out_help="run directory (default runs/<config name>)")
    parser.add_argument("--strategy", metavar="NAME",
                        help="distribution strategy (overrides train.strategy): default, "
                             "mirrored (this host's GPUs) or multi_worker (TF_CONFIG; "
                             "docs/guide/scaling.md)")
    parser.set_defaults(run=run)
