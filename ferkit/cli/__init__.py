"""The ``ferkit`` command line: one module per command under :mod:`ferkit.cli`.

Each command module has ``register(commands)``, which adds its sub-parser and sets
``run=<function(args) -> int>`` on it. Command modules import only light code at module level,
so ``ferkit --help`` and ``ferkit COMMAND --help`` never load TensorFlow.

Errors that are ferkit's to explain (:class:`ferkit.errors.FerkitError`, and the built-in
``ValueError`` / ``OSError`` family raised for bad input) print one line and exit with code 2;
``--debug`` shows the traceback as well.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

import ferkit
import ferkit.errors

#: Command modules in the order ``ferkit --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "synth", "data", "models", "train", "evaluate", "kfold", "occlusion", "tune", "report",
    "predict", "export",
)

#: Values of TF_CPP_MIN_LOG_LEVEL the CLI sets when the user set none: errors only.
QUIET_TF_LOG_LEVEL = "3"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ferkit", description="Facial expression recognition "
                                                                "with Keras 3 on TensorFlow.")
    parser.add_argument("--version", action="version", version=f"ferkit {ferkit.__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up and device messages")
    parser.add_argument("--debug", action="store_true",
                        help="print the full traceback when a command fails")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"ferkit.cli.{name}").register(commands)
    return parser


def quiet_tensorflow(verbose: bool) -> None:
    """Hide TensorFlow's C++ start-up lines unless ``--verbose`` or the user chose a level."""
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_LOG_LEVEL)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 1
    quiet_tensorflow(args.verbose)
    try:
        return args.run(args)
    except (ferkit.errors.FerkitError, ValueError, OSError) as err:
        if args.debug:
            raise
        print(f"ferkit {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
