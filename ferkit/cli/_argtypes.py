"""Argument types that several ``ferkit`` commands share: argparse rejects a bad number with
the option named (``ferkit CMD: error: argument --every: ...``) before any work starts.

Pure Python, so building the parser (``ferkit --help``) stays fast.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable


def whole_number(low: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting whole numbers >= ``low`` (``--every 0`` is refused)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"needs a whole number >= {low}, got {text!r}")
        return value
    parse.__name__ = f"whole number >= {low}"  # argparse names the type in some messages
    return parse


def open_fraction(text: str) -> float:
    """An argparse ``type`` for a share strictly between 0 and 1 (e.g. ``--val-fraction``)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"needs a fraction with 0 < F < 1, got {text!r}")
    return value
