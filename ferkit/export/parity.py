"""Accuracy parity: the export against the Keras model on the run's evaluation split.

Quantised files cannot match the Keras model to 1e-5, so what a user cares about is checked
instead: the emotion accuracy of both on the same images, the drop in points (Keras minus
export, 100 x), how often the two predict the same label, and the largest probability
difference. The figures go into ``export_report.json`` and ``export_report.md`` beside the
artefact; a drop above ``max_drop`` points is an :class:`ExportMismatchError` (or a warning).
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from ferkit.errors import ExportMismatchError
from ferkit.export.checking import TFLiteRunner, exported_format, keras_outputs, run_export
from ferkit.export.writers import float32_run_model, preprocessing_folder
from ferkit.runs import RunDir, write_json_atomic, write_text_atomic

#: The largest accuracy drop (points) an export may have against its Keras model.
MAX_DROP_POINTS = 0.5
REPORT_JSON = "export_report.json"
REPORT_MARKDOWN = "export_report.md"
PARITY_BATCH = 256


@dataclasses.dataclass
class ParityReport:
    """An export's accuracy against its Keras model on one split (see the module doc)."""

    artefact: str
    format: str
    quantize: str
    size_bytes: int
    split: str
    images: int
    keras_accuracy: float
    export_accuracy: float
    drop_points: float
    label_agreement: float
    max_probability_difference: float
    max_drop_points: float
    calibration_images: int | None = None

    @property
    def passed(self) -> bool:
        return self.drop_points <= self.max_drop_points

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "passed": self.passed}

    def markdown(self) -> str:
        """The report as a two-column table."""
        rows = [("artefact", self.artefact), ("format", self.format),
                ("quantisation", self.quantize), ("size", f"{self.size_bytes:,} bytes"),
                ("calibration images", "–" if self.calibration_images is None
                 else f"{self.calibration_images:,} (training rows)"),
                ("evaluated on", f"{self.split} ({self.images:,} images)"),
                ("Keras accuracy", f"{self.keras_accuracy:.4f}"),
                ("export accuracy", f"{self.export_accuracy:.4f}"),
                ("drop", f"{self.drop_points:+.2f} points (at most {self.max_drop_points:g})"),
                ("label agreement", f"{self.label_agreement:.4f}"),
                ("max probability difference", f"{self.max_probability_difference:.3g}"),
                ("parity", "passed" if self.passed else "FAILED")]
        lines = ["# Export report", "", "| figure | value |", "|---|---|"]
        return "\n".join(lines + [f"| {name} | {value} |" for name, value in rows]) + "\n"


def parity_figures(keras_probabilities: np.ndarray, export_probabilities: np.ndarray,
                   labels: np.ndarray) -> dict[str, float]:
    """Accuracy of both, the drop (points), label agreement and the largest probability gap."""
    if keras_probabilities.shape != export_probabilities.shape:
        raise ExportMismatchError(f"the export predicts {export_probabilities.shape[-1]} classes "
                                  f"per image, the Keras model {keras_probabilities.shape[-1]}")
    keras_labels, export_labels = keras_probabilities.argmax(1), export_probabilities.argmax(1)
    keras_accuracy = float((keras_labels == labels).mean())
    export_accuracy = float((export_labels == labels).mean())
    gap = np.abs(keras_probabilities.astype(np.float64) - export_probabilities.astype(np.float64))
    return {"keras_accuracy": keras_accuracy, "export_accuracy": export_accuracy,
            "drop_points": 100.0 * (keras_accuracy - export_accuracy),
            "label_agreement": float((keras_labels == export_labels).mean()),
            "max_probability_difference": float(gap.max())}


def emotion_probabilities(predict: Callable[[np.ndarray], dict], images: np.ndarray,
                          batch: int = PARITY_BATCH) -> np.ndarray:
    """``predict``'s emotion head over ``images``, ``batch`` images per call."""
    parts = []
    for start in range(0, len(images), batch):
        outputs = predict(images[start:start + batch])
        parts.append(np.asarray(outputs.get("emotion", next(iter(outputs.values())))))
    return np.concatenate(parts)


def export_predictor(path: str | Path) -> Callable[[np.ndarray], dict]:
    """A batch -> heads function for the export at ``path``, loaded once."""
    if exported_format(path) == "tflite":
        return TFLiteRunner(path)
    return lambda batch: run_export(path, batch)


def check_parity(run_dir: str | Path, artefact: str | Path, *, data: str | Path | None = None,
                 quantize: str = "none", max_drop: float = MAX_DROP_POINTS,
                 calibration_images: int | None = None, fail: bool = True) -> ParityReport:
    """Score the export and the run's Keras model on the run's evaluation split; write the
    report beside the artefact; raise (``fail``) or warn when the drop exceeds ``max_drop``."""
    from ferkit.export.run_data import evaluation_images

    if not max_drop >= 0:
        raise ValueError(f"max_drop must be >= 0 accuracy points, got {max_drop!r}")
    artefact, run_dir = Path(artefact), Path(run_dir)
    split = evaluation_images(run_dir, data)
    model = float32_run_model(run_dir)
    reference = emotion_probabilities(lambda batch: keras_outputs(model, batch), split.images)
    exported = emotion_probabilities(export_predictor(artefact), split.images)
    report = ParityReport(
        artefact=str(artefact), format=exported_format(artefact), quantize=quantize,
        size_bytes=artefact_size(artefact), split=split.source, images=len(split.images),
        max_drop_points=float(max_drop), calibration_images=calibration_images,
        **parity_figures(reference, exported, split.labels))
    write_report(report, preprocessing_folder(artefact, report.format))
    enforce_max_drop(report, str(run_dir / RunDir.MODEL), fail=fail)
    return report


def enforce_max_drop(report: ParityReport, keras_model: str, *, fail: bool = True) -> None:
    """Raise :class:`ExportMismatchError` (``fail``) or warn when the report's drop is above
    its ``max_drop_points``; say nothing otherwise."""
    if report.passed:
        return
    message = (f"{report.artefact}: accuracy {report.export_accuracy:.4f} against the Keras "
               f"model's {report.keras_accuracy:.4f} ({keras_model}) on {report.split}, a drop "
               f"of {report.drop_points:.2f} points > max drop {report.max_drop_points:g} "
               f"(label agreement {report.label_agreement:.4f})")
    if fail:
        raise ExportMismatchError(message)
    warnings.warn(message, stacklevel=3)


def artefact_size(path: str | Path) -> int:
    """Bytes of a file, or of every file inside a SavedModel folder."""
    path = Path(path)
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size


def write_report(report: ParityReport, folder: str | Path) -> Path:
    """``export_report.json`` and ``export_report.md`` into ``folder``; returns the JSON path."""
    folder = Path(folder)
    write_text_atomic(folder / REPORT_MARKDOWN, report.markdown())
    return write_json_atomic(folder / REPORT_JSON, report.to_json())


__all__ = ["MAX_DROP_POINTS", "PARITY_BATCH", "ParityReport", "REPORT_JSON", "REPORT_MARKDOWN",
           "artefact_size", "check_parity", "enforce_max_drop", "emotion_probabilities", "export_predictor",
           "parity_figures", "write_report"]
