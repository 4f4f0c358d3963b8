"""The ``ferkit`` command: ``--version``, ``synth``, ``train``, ``tune``, ``models``, ..."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import ferkit


def _synth(args) -> int:
    from ferkit.data import synthetic

    root = synthetic.write_ckplus(args.out, n_subjects=args.subjects,
                                  sequences_per_subject=args.sequences,
                                  frames_per_sequence=args.frames, seed=args.seed,
                                  layout=args.layout)
    print(f"wrote a synthetic CK+ tree ({args.layout} layout, {args.subjects} subjects) to {root}")
    return 0


def _train(args) -> int:
    from ferkit.config import load_config
    from ferkit.training import run_experiment

    overrides = list(args.set)
    if args.data:
        overrides.append(f"data.path={args.data}")
    if args.strategy:
        overrides.append(f"train.strategy={args.strategy}")
    config = load_config(args.config, overrides)
    out = Path(args.out) if args.out else Path("runs") / config.name
    result = run_experiment(config, out)
    for key, value in result.evaluation.summary.items():
        print(f"{key:28s} {value:.4f}")
    print(f"run directory: {result.run_dir}")
    return 0


def _data_inspect(args) -> int:
    from ferkit.data.inspect import inspect_dataset

    out = args.out or str(Path("runs") / "inspect" / Path(args.path).name.split(".")[0])
    print(inspect_dataset(args.path, out, duplicates=not args.no_duplicates).to_text())
    return 0


def _models(args) -> int:
    from ferkit import models

    for name, description in models.describe().items():
        print(f"{name:24s} {description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ferkit", description="Facial expression recognition "
                                                                "with Keras 3 on TensorFlow.")
    parser.add_argument("--version", action="version", version=f"ferkit {ferkit.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    synth = commands.add_parser("synth", help="write a synthetic FACS-face dataset in CK+ layout")
    synth.add_argument("out", help="folder to write the CK+ tree into")
    synth.add_argument("--subjects", type=int, default=40)
    synth.add_argument("--sequences", type=int, default=7, help="sequences per subject")
    synth.add_argument("--frames", type=int, default=6, help="frames per sequence")
    synth.add_argument("--layout", choices=("full", "ck48"), default="full")
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(run=_synth)

    train = commands.add_parser("train", help="train and evaluate one config into a run directory")
    train.add_argument("--config", required=True, help="experiment YAML (see configs/)")
    train.add_argument("--data", help="dataset path (overrides data.path)")
    train.add_argument("--out", help="run directory (default runs/<config name>)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set train.epochs=5 (repeatable)")
    train.add_argument("--strategy", metavar="NAME",
                       help="distribution strategy (overrides train.strategy): default, mirrored "
                            "(this host's GPUs) or multi_worker (TF_CONFIG; docs/scaling.md)")
    train.set_defaults(run=_train)

    data = commands.add_parser("data", help="dataset tools").add_subparsers(
        dest="data_command", metavar="DATA_COMMAND", required=True)
    inspect = data.add_parser("inspect", help="detect a dataset's format, count it, find "
                                              "duplicates and plot it")
    inspect.add_argument("path", help="FER2013 CSV (or its folder), CK+ tree, manifest CSV or "
                                      "class folders")
    inspect.add_argument("--out", help="folder for plots and counts (default runs/inspect/NAME)")
    inspect.add_argument("--no-duplicates", action="store_true", help="skip duplicate hashing")
    inspect.set_defaults(run=_data_inspect)

    from ferkit.evaluation.command import add_evaluate_parser
    from ferkit.evaluation.kfold import add_kfold_parser
    from ferkit.evaluation.occlusion import add_occlusion_parser
    from ferkit.export import add_export_parser
    from ferkit.inference import add_predict_parser
    from ferkit.report import add_report_parser
    from ferkit.tuning.command import add_tune_parser

    add_report_parser(commands)
    add_predict_parser(commands)
    add_export_parser(commands)
    add_evaluate_parser(commands)
    add_kfold_parser(commands)
    add_occlusion_parser(commands)
    add_tune_parser(commands)

    listing = commands.add_parser("models", help="list registered models and presets")
    listing.set_defaults(run=_models)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 1
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"ferkit {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
