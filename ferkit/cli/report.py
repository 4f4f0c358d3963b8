"""``ferkit report``: interim wrapper; the parser still lives in ferkit.report (being moved here)."""
from __future__ import annotations


def register(commands) -> None:
    from ferkit.report import add_report_parser

    add_report_parser(commands)
