"""Seed 002's grid: train its 12 ResBlock networks on FER+ four-class labels and compare them.

    python examples/seed002_grid.py                           # synthetic FER2013 + FER+ votes
    python examples/seed002_grid.py --data path/to/fer2013 --fc-units 256
    python examples/seed002_grid.py --fast                    # two small networks, one epoch

Writes ``grid.csv`` / ``grid.md`` and plots under ``--out``, one run directory per network.
The seed's FC layers are as wide as the flattened 20x20 pool (41-328 M parameters); pass
``--fc-units`` for a CPU-sized head with the same convolutional layout.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ferkit.config import load_config
from ferkit.models.resblock_grid import seed002_grid
from ferkit.workflows.grid import run_grid

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "seed002_B16_N8_FC2_K5.yaml"
FAST = ["train.epochs=1", "train.jit_compile=false", "train.verbose=0", "data.synthetic.images=160"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder with fer2013.csv(.gz) and fer2013new.csv")
    parser.add_argument("--out", default="runs/seed002_grid")
    parser.add_argument("--models", nargs="*", help="grid names (default: all 12)")
    parser.add_argument("--fc-units", type=int, help="FC hidden width (default: the seed's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    overrides = (FAST if args.fast else []) + args.set + ([f"data.path={args.data}"] if args.data else [])
    config = load_config(CONFIG, overrides)
    names = args.models or (seed002_grid()[:2] if args.fast else seed002_grid())
    fc_units = args.fc_units or (8 if args.fast else None)
    table = run_grid(config, names, args.out, model_args={"fc_units": fc_units} if fc_units else None)
    print(table.round(4).to_string())


if __name__ == "__main__":
    main()
