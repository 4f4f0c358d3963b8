"""Figure helpers shared by every plot in ferkit.

Plots draw on a bare matplotlib ``Figure`` with the Agg canvas, so they never touch pyplot's
global state or the user's backend, and always save PNGs at the same resolution.
"""
from __future__ import annotations

import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 120


def new_figure(width: float, height: float) -> Figure:
    """A pyplot-free figure of ``width`` x ``height`` inches on an Agg canvas."""
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: str | os.PathLike) -> Path:
    """Write ``figure`` as PNG (creating parent folders), release it, return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=DPI, bbox_inches="tight")
    figure.clear()
    return path
