"""What a prediction is: one face's box and the model's outputs, the rows of a result table, and
the table's text summary and status counts."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Literal, Sequence

import pandas as pd

from ferkit.data.cleaning.detectors import LANDMARKS

FaceMode = Literal["detect", "whole"]
FACE_MODES = ("detect", "whole")
#: ``status`` of a result row for an image or frame in which no face was found.
NO_FACE = "no face"
#: ``status`` of a result row for a face.
OK = "ok"
Box = tuple[int, int, int, int]
#: Result columns of the five landmarks, ``<name>_x`` and ``<name>_y`` (NaN without landmarks).
LANDMARK_COLUMNS = tuple(f"{name}_{axis}" for name in LANDMARKS for axis in "xy")
#: ``detector`` of the rows of ``face="whole"`` predictions.
WHOLE_IMAGE = "whole image"


def check_face_mode(face: str) -> None:
    """Raise unless ``face`` is ``"detect"`` or ``"whole"``."""
    if face not in FACE_MODES:
        raise ValueError(f"face must be one of {list(FACE_MODES)}, got {face!r}")


@dataclasses.dataclass(frozen=True)
class FacePrediction:
    """One face: its box ``(x, y, width, height)`` in the image and the model's outputs, with
    the detector's score and landmarks (NaN and None when it gives none)."""

    box: Box
    probabilities: dict[str, float]
    aus: dict[str, float] = dataclasses.field(default_factory=dict)
    detector_score: float = math.nan
    landmarks: dict[str, tuple[float, float]] | None = None

    @property
    def label(self) -> str:
        """The most probable class."""
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def score(self) -> float:
        """The probability of :attr:`label`."""
        return self.probabilities[self.label]

    def to_row(self) -> dict:
        """Flat columns: box, detector score, landmarks, label, score, ``p_<class>``, ``au_<n>``."""
        x, y, width, height = self.box
        row = dict(x=x, y=y, width=width, height=height, detector_score=self.detector_score)
        landmarks = self.landmarks or {}
        for name in LANDMARKS:
            row[f"{name}_x"], row[f"{name}_y"] = landmarks.get(name, (math.nan, math.nan))
        row.update(label=self.label, score=self.score)
        row.update({f"p_{name}": value for name, value in self.probabilities.items()})
        row.update({f"au_{name.removeprefix('AU')}": value for name, value in self.aus.items()})
        return row


def prediction_rows(where: dict, predictions: Sequence[FacePrediction]) -> list[dict]:
    """One row per face, or one ``"no face"`` row, each starting with ``where``."""
    if not predictions:
        return [{**where, "face": None, "status": NO_FACE}]
    return [{**where, "face": index, "status": OK, **prediction.to_row()}
            for index, prediction in enumerate(predictions)]


def summary_table(frame: pd.DataFrame, max_rows: int = 40) -> str:
    """The readable columns of a prediction frame as text, at most ``max_rows`` rows."""
    columns = [c for c in ("file", "frame", "time_s", "face", "status", "label", "score",
                           "x", "y", "width", "height", "detector") if c in frame.columns]
    shown = frame[columns].assign(
        file=frame["file"].map(lambda p: Path(p).name if isinstance(p, str) else p))
    text = shown.head(max_rows).to_string(index=False, float_format=lambda v: f"{v:.3f}")
    if len(frame) > max_rows:
        text += f"\n... {len(frame) - max_rows} more rows ({len(frame)} in all)"
    return text


def status_counts(frame: pd.DataFrame) -> dict[str, int]:
    """How many rows of a prediction frame are faces, "no face" and unreadable inputs."""
    status = frame["status"].fillna("")
    return {"faces": int((status == OK).sum()), "no_face": int((status == NO_FACE).sum()),
            "unreadable": int(status.str.startswith("unreadable").sum())}
