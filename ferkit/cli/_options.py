"""Options that several ``ferkit`` commands share, written once.

Nothing here imports TensorFlow, Keras, OpenCV or pandas: building the whole parser (and so
``ferkit --help``) stays fast. Command modules import heavy code inside their ``run`` function.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_config_options(parser: argparse.ArgumentParser, *, out_help: str,
                       config_required: bool = True) -> None:
    """``--config``, ``--data``, ``--out`` and the repeatable ``--set KEY=VALUE``."""
    parser.add_argument("--config", required=config_required,
                        help="experiment YAML (see configs/ and docs/reference/config.md)")
    parser.add_argument("--data", help="dataset path (overrides data.path)")
    parser.add_argument("--out", help=out_help)
    add_set_option(parser)


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.epochs=5 (repeatable)")


def add_unsafe_load_option(parser: argparse.ArgumentParser) -> None:
    """``--unsafe-load``: load ``.keras`` files with Keras ``safe_mode=False``."""
    parser.add_argument("--unsafe-load", action="store_true",
                        help="load the .keras model with Keras safe_mode=False, which lets the "
                             "file run Python code (e.g. a Lambda layer's function): only for a "
                             "file you trust; a warning is printed")


def config_overrides(args: argparse.Namespace, **options: str) -> list[str]:
    """``--set`` values, then ``data.path`` from ``--data`` and each ``options`` key whose
    argument was given (``options`` maps an attribute of ``args`` to a config key)."""
    overrides = list(getattr(args, "set", []) or [])
    if getattr(args, "data", None):
        overrides.append(f"data.path={args.data}")
    for attribute, key in options.items():
        value = getattr(args, attribute, None)
        if value is not None:
            overrides.append(f"{key}={value}")
    return overrides


def load_config_from_args(args: argparse.Namespace, **options: str):
    """The ``--config`` file with :func:`config_overrides` applied (validated)."""
    from ferkit.config import load_config

    return load_config(args.config, config_overrides(args, **options))


def out_dir(args: argparse.Namespace, default: str | Path) -> Path:
    """``--out`` when given, else ``default``."""
    return Path(args.out) if getattr(args, "out", None) else Path(default)
