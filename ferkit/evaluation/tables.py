"""Markdown rendering of result frames, without an extra dependency."""
from __future__ import annotations

import numbers

import pandas as pd


def _cell(value, digits: int) -> str:
    if isinstance(value, numbers.Integral):
        return str(value)
    if isinstance(value, numbers.Real):
        return "nan" if pd.isna(value) else f"{value:.{digits}f}"
    return str(value).replace("|", "\\|")


def to_markdown(frame: pd.DataFrame, digits: int = 4, index: bool = True) -> str:
    """A GitHub-flavoured Markdown table of ``frame`` (floats rounded to ``digits``)."""
    columns = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for label, row in zip(frame.index, frame.itertuples(index=False)):
        cells = ([_cell(str(label), digits)] if index else []) + [_cell(v, digits) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
