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
