"""``plot_grid``: a PNG contact sheet of synthetic faces with their labels."""
from __future__ import annotations

import math
import pathlib

import numpy as np
import pandas as pd


def plot_grid(images: np.ndarray, frame: pd.DataFrame, path: str | pathlib.Path,
              columns: int = 8, title_column: str = "emotion_name") -> pathlib.Path:
    """Save a grid of ``images`` titled by ``frame[title_column]`` as a PNG.

    Uses a bare matplotlib ``Figure`` (Agg), so no pyplot state or backend is touched.
    """
    from matplotlib.figure import Figure

    rows = max(1, math.ceil(len(images) / columns))
    figure = Figure(figsize=(columns * 1.3, rows * 1.45))
    axes = figure.subplots(rows, columns, squeeze=False)
    for k, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if k < len(images):
            axis.imshow(images[k], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            axis.set_title(str(frame[title_column].iloc[k]), fontsize=7)
    figure.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
