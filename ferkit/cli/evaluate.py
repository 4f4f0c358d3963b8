"""``ferkit evaluate RUN_DIR --data PATH``: score a trained run on a dataset split.

The run's own ``config.yaml`` says how to read the data; see
:func:`ferkit.workflows.evaluate.evaluate_run`. Test-time views not given here come from the
run config's ``evaluate`` section (none by default).
"""
from __future__ import annotations

import argparse

from ferkit.cli._argtypes import whole_number


def run(args: argparse.Namespace) -> int:
    """Score, write, print accuracy and macro-F1."""
    from ferkit.workflows.evaluate import evaluate_run

    zoom = tuple(args.tta_zoom) if args.tta_zoom is not None else None
    result = evaluate_run(args.run_dir, args.data, args.source, args.split, args.out,
                          flip_tta=args.tta, batch_size=args.batch_size,
                          shift_tta=args.tta_shift, zoom_tta=zoom)
    print(f"{result.split}: {result.images} images{', ' + result.tta if result.tta else ''}")
    print(f"accuracy  {result.accuracy:.4f}")
    print(f"macro-F1  {result.macro_f1:.4f}")
    print(f"wrote {result.out_dir}")
    return 0


def register(commands) -> None:
    """Add ``evaluate RUN_DIR --data PATH [--source S] [--split NAME] [--out DIR] [--tta]
    [--tta-shift PIXELS] [--tta-zoom FACTOR ...]``."""
    parser = commands.add_parser(
        "evaluate", help="score a trained run on a dataset split (tables, confusion matrix)",
        description="Load RUN_DIR/model.keras, read --data with the run's own data settings "
                    "and score one split: accuracy, macro-F1, per-class report, confusion matrix.")
    parser.add_argument("run_dir", metavar="RUN_DIR",
                        help="run directory holding model.keras and config.yaml")
    parser.add_argument("--data", required=True, help="dataset path (replaces the run's data.path)")
    parser.add_argument("--source", choices=_source_names(),
                        help="loader for --data (default: the run's data.source)")
    parser.add_argument("--split", help="train, val, test, all, or for FER2013/FER+ Training, "
                                        "PublicTest, PrivateTest (default: PublicTest for "
                                        "FER2013/FER+, else the split the run was scored on)")
    parser.add_argument("--out", help="output folder (default RUN_DIR/evaluate_<dataset>_<split>)")
    parser.add_argument("--tta", action=argparse.BooleanOptionalAction,
                        help="average each image's prediction with its mirror image's "
                             "(--no-tta: not even when the run config's evaluate section says so)")
    parser.add_argument("--tta-shift", type=_pixels, metavar="PIXELS",
                        help="also average over the image shifted PIXELS up, down, left and "
                             "right (with --tta: 10 views; the FER2013 recipe uses 2)")
    parser.add_argument("--tta-zoom", type=_enlargement, nargs="+", metavar="FACTOR",
                        help="also average over the image's centre enlarged by each FACTOR (> 1; "
                             "the FER2013 recipe uses 1.08 1.16, with --tta and --tta-shift 2: "
                             "14 views)")
    parser.add_argument("--batch-size", type=whole_number(1), default=64,
                        help="images per prediction batch (default 64)")
    parser.set_defaults(run=run)


def _source_names() -> tuple[str, ...]:
    """Every ``data.source`` a config accepts (ferkit.config is pure Python: no TensorFlow)."""
    import typing

    from ferkit.config import DataConfig

    return typing.get_args(typing.get_type_hints(DataConfig)["source"])


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
