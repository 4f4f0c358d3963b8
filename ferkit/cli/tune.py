"""``ferkit tune``: interim wrapper; the parser still lives in ferkit.tuning.command (being moved here)."""
from __future__ import annotations


def register(commands) -> None:
    from ferkit.tuning.command import add_tune_parser

    add_tune_parser(commands)
