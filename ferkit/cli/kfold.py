"""``ferkit kfold``: interim wrapper; the parser still lives in ferkit.evaluation.kfold (being moved here)."""
from __future__ import annotations


def register(commands) -> None:
    from ferkit.evaluation.kfold import add_kfold_parser

    add_kfold_parser(commands)
