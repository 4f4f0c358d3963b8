"""``ferkit kfold --config CFG``: k-fold cross-validation, one run directory per fold
(resumable; see :func:`ferkit.workflows.kfold.cross_validate`)."""
from __future__ import annotations

import argparse

from ferkit.cli._argtypes import open_fraction, whole_number
from ferkit.cli._options import add_config_options, load_config_from_args, out_dir


def run(args: argparse.Namespace) -> int:
    """Cross-validate the config and print the per-fold table."""
    config = load_config_from_args(args)  # a bad config fails before TensorFlow loads
    from ferkit.workflows.kfold import cross_validate

    out = out_dir(args, f"runs/{config.name}_kfold")
    result = cross_validate(config, out, k=args.folds, group=args.group,
                            val_fraction=args.val_fraction)
    print(result.to_markdown())
    print(f"cross-validation folder: {out}")
    return 0


def register(commands) -> None:
    """Add ``kfold --config CFG [--folds K] [--group COL] [--val-fraction F] ...``."""
    parser = commands.add_parser("kfold", help="k-fold cross-validation of a config, one run "
                                               "directory per fold (resumable)")
    add_config_options(parser, out_help="output folder (default runs/<config name>_kfold)")
    parser.add_argument("--folds", type=whole_number(2), default=10, help="number of folds (default 10)")
    parser.add_argument("--group", help="column whose groups stay in one split, e.g. subject")
    parser.add_argument("--val-fraction", type=open_fraction, default=0.15,
                        help="share of each fold's training rows used for validation")
    parser.set_defaults(run=run)
