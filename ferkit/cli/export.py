"""``ferkit export``: interim wrapper; the parser still lives in ferkit.export (being moved here)."""
from __future__ import annotations


def register(commands) -> None:
    from ferkit.export import add_export_parser

    add_export_parser(commands)
