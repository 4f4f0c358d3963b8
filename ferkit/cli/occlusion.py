"""``ferkit occlusion``: interim wrapper; the parser still lives in ferkit.evaluation.occlusion (being moved here)."""
from __future__ import annotations


def register(commands) -> None:
    from ferkit.evaluation.occlusion import add_occlusion_parser

    add_occlusion_parser(commands)
