"""``ferkit occlusion --config CFG``: seed 003's half-face occlusion study (resumable; see
:func:`ferkit.workflows.occlusion.occlusion_protocol`)."""
from __future__ import annotations

import argparse

from ferkit.cli._argtypes import whole_number
from ferkit.cli._options import add_config_options, load_config_from_args, out_dir

#: The masks ``--regions`` accepts; ferkit.evaluation.occlusion.MATRIX_REGIONS (a test keeps
#: the two equal; importing it here would load pandas for ``--help``).
REGIONS: tuple[str, ...] = ("full", "upper", "lower", "left", "right")


def run(args: argparse.Namespace) -> int:
    """Run the study and print the accuracy and macro-F1 grids."""
    config = load_config_from_args(args)  # a bad config fails before TensorFlow loads
    from ferkit.workflows.occlusion import occlusion_protocol

    out = out_dir(args, f"runs/{config.name}_occlusion")
    result = occlusion_protocol(config, out, regions=args.regions,
                                finetune_epochs=args.finetune_epochs,
                                finetune_overrides=args.finetune_set)
    print(result.to_markdown(("accuracy", "macro_f1")))
    print(f"occlusion folder: {out}")
    return 0


def register(commands) -> None:
    """Add ``occlusion --config CFG [--regions ...] [--finetune-epochs N] ...``."""
    parser = commands.add_parser("occlusion", help="seed 003's half-face occlusion study: "
                                                   "baseline, a fine-tuned copy per mask, "
                                                   "trained-on x evaluated-on matrix")
    add_config_options(parser, out_help="output folder (default runs/<config name>_occlusion)")
    parser.add_argument("--regions", nargs="+", default=list(REGIONS), choices=list(REGIONS),
                        help="masks to fine-tune and evaluate")
    parser.add_argument("--finetune-epochs", type=whole_number(1), help="epochs per fine-tuning run")
    parser.add_argument("--finetune-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value for fine-tuning only (repeatable)")
    parser.set_defaults(run=run)
