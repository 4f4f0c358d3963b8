"""The ``ferkit`` command line: one module per command under :mod:`ferkit.cli`.

Each command module has ``register(commands)``, which adds its sub-parser and sets
``run=<function(args) -> int>`` on it. Command modules import only light code at module level,
so ``ferkit --help`` and ``ferkit COMMAND --help`` never load TensorFlow.

A running command is quiet: :func:`main` hides TensorFlow's start-up lines unless ``--verbose``
is given or the user set ``TF_CPP_MIN_LOG_LEVEL`` (see :mod:`ferkit.cli._quiet`). Errors that
are ferkit's to explain (:class:`ferkit.errors.FerkitError`, and the built-in ``ValueError`` /
``OSError`` family raised for bad input) print one line and exit with code 2; ``--debug``
shows the traceback instead.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import ferkit
from ferkit.cli._quiet import quiet_tensorflow
from ferkit.errors import FerkitError

#: Command modules in the order ``ferkit --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "synth", "data", "models", "train", "evaluate", "kfold", "occlusion", "tune", "report",
    "predict", "presets", "export",
)

#: Exit code of a command that failed on bad input (argparse uses 2 for bad arguments too).
EXIT_BAD_INPUT = 2

#: Errors reported as one line instead of a traceback.
REPORTED_ERRORS = (FerkitError, ValueError, OSError)


def build_parser() -> argparse.ArgumentParser:
    """The whole ``ferkit`` parser; imports every command module (all light)."""
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


def command_name(args: argparse.Namespace) -> str:
    """``data inspect`` for a sub-command, else the command: the name error lines start with."""
    parts = [args.command, getattr(args, f"{args.command}_command", None)]
    return " ".join(part for part in parts if part)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ferkit`` with ``argv`` (default ``sys.argv[1:]``) and return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    quiet_tensorflow(verbose="--verbose" in argv)  # before any command module loads
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 1
    try:
        return args.run(args)
    except REPORTED_ERRORS as err:
        if args.debug:
            raise
        print(f"ferkit {command_name(args)}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
