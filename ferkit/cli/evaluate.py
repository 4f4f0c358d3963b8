"""``ferkit evaluate``: interim wrapper; the parser still lives in ferkit.evaluation.command (being moved here)."""
from __future__ import annotations


def register(commands) -> None:
    from ferkit.evaluation.command import add_evaluate_parser

    add_evaluate_parser(commands)
