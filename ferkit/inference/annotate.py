"""Draw each face's box and ``label probability`` on a copy of the image."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ferkit.data.images import check_pixels, read_image, to_channels
from ferkit.inference.results import NO_FACE, FacePrediction

#: Images smaller than this (shorter side, pixels) are enlarged before labels are drawn.
MIN_ANNOTATED_SIDE = 240
BOX_COLOUR = (0, 200, 80)          # RGB
TEXT_COLOUR = (0, 0, 0)
LANDMARK_COLOUR = (255, 60, 60)    # RGB: eyes, nose and mouth corners of learned detectors


def annotate(image: np.ndarray, predictions: Sequence[FacePrediction]) -> np.ndarray:
    """An RGB copy of ``image`` with each face's box, landmarks and ``label probability`` drawn.

    Images whose shorter side is under ``MIN_ANNOTATED_SIDE`` pixels are enlarged
    (nearest neighbour) first so the text is legible; an empty list writes "no face".
    """
    canvas = to_channels(check_pixels(image, "image"), 3).copy()
    factor = max(1, math.ceil(MIN_ANNOTATED_SIDE / min(canvas.shape[:2])))
    if factor > 1:
        canvas = cv2.resize(canvas, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
    scale = max(0.4, min(canvas.shape[:2]) / 500)
    if not predictions:
        _draw_label(canvas, NO_FACE, (0, 0), scale, inside=True)
    for prediction in predictions:
        x, y, w, h = (v * factor for v in prediction.box)
        thickness = max(1, round(2 * scale))
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), BOX_COLOUR, thickness)
        for px, py in (prediction.landmarks or {}).values():
            cv2.circle(canvas, (round(px * factor), round(py * factor)), thickness + 1,
                       LANDMARK_COLOUR, -1)
        _draw_label(canvas, f"{prediction.label} {prediction.score:.2f}", (x, y), scale,
                    inside=y < 20 * scale)
    return canvas


def _draw_label(canvas: np.ndarray, text: str, corner: tuple[int, int], scale: float,
                inside: bool) -> None:
    """Text on a filled box, above ``corner`` (or just inside the box when ``inside``)."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    (width, height), baseline = cv2.getTextSize(text, font, scale, 1)
    x, y = corner
    top = y if inside else max(0, y - height - baseline - 4)
    cv2.rectangle(canvas, (x, top), (x + width + 4, top + height + baseline + 4), BOX_COLOUR, -1)
    cv2.putText(canvas, text, (x + 2, top + height + 2), font, scale, TEXT_COLOUR, 1, cv2.LINE_AA)


def save_annotated(image_or_path: np.ndarray | str | Path, predictions: Sequence[FacePrediction],
                   path: str | Path) -> Path:
    """Write :func:`annotate`'s picture to ``path`` (format by extension) and return it."""
    image = read_image(image_or_path) if isinstance(image_or_path, (str, Path)) else image_or_path
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(annotate(image, predictions), cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write annotated image {path}: unknown extension or unwritable folder")
    return path


__all__ = ["annotate", "save_annotated", "MIN_ANNOTATED_SIDE", "BOX_COLOUR", "TEXT_COLOUR",
           "LANDMARK_COLOUR"]
