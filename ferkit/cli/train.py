"""``ferkit train``: train and evaluate one config into a run directory."""
from __future__ import annotations

from pathlib import Path

def run(args) -> int:
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


def register(commands) -> None:
    train = commands.add_parser("train", help="train and evaluate one config into a run directory")
    train.add_argument("--config", required=True, help="experiment YAML (see configs/)")
    train.add_argument("--data", help="dataset path (overrides data.path)")
    train.add_argument("--out", help="run directory (default runs/<config name>)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set train.epochs=5 (repeatable)")
    train.add_argument("--strategy", metavar="NAME",
                       help="distribution strategy (overrides train.strategy): default, mirrored "
                            "(this host's GPUs) or multi_worker (TF_CONFIG; docs/guide/scaling.md)")
    train.set_defaults(run=run)
