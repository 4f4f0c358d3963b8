"""The ``ferkit`` command line: one module per command under :mod:`ferkit.cli`.

Each command module has ``register(commands)``, which adds its sub-parser and sets
``run=<function(args) -> int>`` on it. Command modules import only light code at module level,
so ``ferkit --help`` and ``ferkit COMMAND --help`` never load TensorFlow.

A running command is quiet: :func:`main` hides TensorFlow's start-up lines unless ``--verbose``
is given or the user set ``TF_CPP_MIN_LOG_LEVEL`` (see :mod:`ferkit.cli._quiet`). ``--debug``
and ``--verbose`` may stand anywhere on the command line (``ferkit train --debug ...``).

Exit codes:

- ``0``: the command did what was asked.
- ``1``: no command was given (the help is printed), or ferkit itself failed: an exception
  that is not about the input is a ferkit bug, so its traceback is shown below a line
  ``ferkit COMMAND: internal error ...`` asking to report it.
- ``2``: bad input: a bad argument (argparse's usage line and message), or a file, folder,
  setting or model that ferkit cannot use (:class:`ferkit.errors.FerkitError`, and the
  built-in ``ValueError`` / ``OSError`` family): one line ``ferkit COMMAND: error: ...``
  naming the file and the problem, never a traceback (``--debug`` shows it instead).
- ``130``: interrupted with Ctrl-C: one line ``ferkit COMMAND: interrupted``.

Commands that load a ``.keras`` model (``predict``, ``evaluate``, ``export``) load it with
Keras' ``safe_mode``, which refuses files that would run Python code; ``--unsafe-load`` lifts
that for a file you trust (with a warning).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence

import ferkit
from ferkit.cli._options import add_unsafe_load_option
from ferkit.cli._quiet import quiet_tensorflow
from ferkit.errors import FerkitError

#: Command modules in the order ``ferkit --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "synth", "data", "models", "train", "evaluate", "kfold", "occlusion", "tune", "report",
    "predict", "presets", "export",
)

#: Commands that load a ``.keras`` model file and so take ``--unsafe-load``.
MODEL_LOADING_COMMANDS: tuple[str, ...] = ("predict", "evaluate", "export")

#: Options of the ``ferkit`` parser itself that may also follow the command.
GLOBAL_FLAGS: tuple[str, ...] = ("--debug", "--verbose")

#: Exit code of a command that failed on bad input (argparse uses 2 for bad arguments too).
EXIT_BAD_INPUT = 2
#: Exit code of a ferkit bug (the traceback is shown).
EXIT_INTERNAL_ERROR = 1
#: Exit code after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130

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
                        help="print the full traceback when a command fails (may also follow "
                             "the command)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"ferkit.cli.{name}").register(commands)
    for name in MODEL_LOADING_COMMANDS:
        add_unsafe_load_option(commands.choices[name])
    return parser


def global_flags_first(argv: Sequence[str]) -> list[str]:
    """``argv`` with each :data:`GLOBAL_FLAGS` token moved to the front, so ``ferkit train
    --debug ...`` means ``ferkit --debug train ...``; tokens after ``--`` stay where they are."""
    argv = list(argv)
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [token for token in argv[:end] if token in GLOBAL_FLAGS]
    rest = [token for token in argv[:end] if token not in GLOBAL_FLAGS]
    return flags + rest + argv[end:]


def command_name(args: argparse.Namespace) -> str:
    """``data inspect`` for a sub-command, else the command: the name error lines start with."""
    parts = [args.command, getattr(args, f"{args.command}_command", None)]
    return " ".join(part for part in parts if part)


def one_line(error: BaseException) -> str:
    """The error's message on one line (Keras and pandas messages span several)."""
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ferkit`` with ``argv`` (default ``sys.argv[1:]``) and return its exit code."""
    argv = global_flags_first(sys.argv[1:] if argv is None else argv)
    quiet_tensorflow(verbose="--verbose" in argv)  # before any command module loads
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 1
    name = command_name(args)
    try:
        with _loading_policy(args):
            return args.run(args)
    except REPORTED_ERRORS as err:
        if args.debug:
            raise
        print(f"ferkit {name}: error: {one_line(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"ferkit {name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        print(f"ferkit {name}: internal error: {type(err).__name__}: {one_line(err)} (a ferkit "
              "bug, not a problem with your input: please report it with the traceback below)",
              file=sys.stderr)
        raise


def _loading_policy(args: argparse.Namespace):
    """``--unsafe-load``: a block in which ``.keras`` files load with ``safe_mode=False``."""
    if not getattr(args, "unsafe_load", False):
        return contextlib.nullcontext()
    from ferkit.models.loading import unsafe_loading

    return unsafe_loading()
