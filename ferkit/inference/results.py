"""What a prediction is: one face's box and the model's outputs, and the rows of a result table."""
from __future__ import annotations

import dataclasses
from typing import Literal, Sequence

FaceMode = Literal["detect", "whole"]
FACE_MODES = ("detect", "whole")
#: ``status`` of a result row for an image or frame in which no face was found.
NO_FACE = "no face"
#: ``status`` of a result row for a face.
OK = "ok"
Box = tuple[int, int, int, int]


def check_face_mode(face: str) -> None:
    """Raise unless ``face`` is ``"detect"`` or ``"whole"``."""
    if face not in FACE_MODES:
        raise ValueError(f"face must be one of {list(FACE_MODES)}, got {face!r}")


@dataclasses.dataclass(frozen=True)
class FacePrediction:
    """One face: its box ``(x, y, width, height)`` in the image and the model's outputs."""

    box: Box
    probabilities: dict[str, float]
    aus: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def label(self) -> str:
        """The most probable class."""
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def score(self) -> float:
        """The probability of :attr:`label`."""
        return self.probabilities[self.label]

    def to_row(self) -> dict:
        """Flat columns: box, label, score, ``prob_<class>`` and ``prob_AU<n>``."""
        x, y, width, height = self.box
        row = dict(x=x, y=y, width=width, height=height, label=self.label, score=self.score)
        row.update({f"prob_{name}": value for name, value in self.probabilities.items()})
        row.update({f"prob_{name}": value for name, value in self.aus.items()})
        return row


def prediction_rows(where: dict, predictions: Sequence[FacePrediction]) -> list[dict]:
    """One row per face, or one ``"no face"`` row, each starting with ``where``."""
    if not predictions:
        return [{**where, "face": None, "status": NO_FACE}]
    return [{**where, "face": index, "status": OK, **prediction.to_row()}
            for index, prediction in enumerate(predictions)]
