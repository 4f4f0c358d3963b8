"""``ferkit predict``: interim wrapper; the parser still lives in ferkit.inference (being moved here)."""
from __future__ import annotations


def register(commands) -> None:
    from ferkit.inference import add_predict_parser

    add_predict_parser(commands)
