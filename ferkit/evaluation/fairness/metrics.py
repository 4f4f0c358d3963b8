"""Per-group metrics, their disparities, and the fairness report of one model's predictions."""
from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ferkit.evaluation import metrics
from ferkit.evaluation.fairness.bootstrap import bootstrap_group_ci
from ferkit.evaluation.fairness.groups import (
    AVERAGE_GROUP, GROUP_COLUMNS, METRICS, OVERALL_GROUP, EmptyGroups, as_column_list,
    attribute_table, check_empty_groups, check_group_frame, group_rows_only, require_columns,
    validated_labels,
)
from ferkit.evaluation.fairness.plots import plot_group_metrics
from ferkit.evaluation.tables import to_markdown
from ferkit.runs import RunDir

#: Metrics whose intervals :func:`fairness_report` computes.
REPORT_INTERVAL_METRICS: tuple[str, ...] = ("accuracy", "macro_f1")


def _scores_of(true: np.ndarray, pred: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """The :data:`METRICS` of a subset, NaN for an empty one."""
    if len(true) == 0:
        return {metric: float("nan") for metric in METRICS}
    scores = metrics.summary(true, pred, class_names)
    return {metric: scores[metric] for metric in METRICS}


def _row(attribute: str, group: str, n_images: int, scores: dict[str, float]) -> dict:
    return {"attribute": attribute, "group": group, "n_images": int(n_images), **scores}


def _average_row(attribute: str, group_rows: list[dict]) -> dict:
    """Unweighted mean over the non-empty groups; n_images is their total."""
    filled = [row for row in group_rows if row["n_images"] > 0]
    scores = {metric: float(np.mean([row[metric] for row in filled])) for metric in METRICS}
    return _row(attribute, AVERAGE_GROUP, sum(row["n_images"] for row in filled), scores)


def group_metrics(y_true, y_pred, groups: pd.DataFrame | pd.Series, class_names: Sequence[str],
                  intersectional: bool = False, attributes: Sequence[str] | None = None,
                  empty_groups: EmptyGroups = "nan") -> pd.DataFrame:
    """Accuracy and macro precision / recall / F1 per attribute and group.

    ``groups`` holds one column per attribute (a Series is one attribute named after the
    Series), aligned by position with ``y_true``; ``attributes`` picks columns from a
    wider frame. ``intersectional=True`` adds an ``a×b`` attribute for every pair.
    Returns columns :data:`GROUP_COLUMNS`: per attribute its groups, then ``average`` and
    ``overall``. See the module notes for empty groups.
    """
    true, pred, overall = validated_labels(y_true, y_pred, class_names)
    table = attribute_table(groups, len(true), attributes, intersectional)
    check_empty_groups(table, empty_groups)
    rows = []
    for attribute, column in table.items():
        group_rows = []
        for group in column.cat.categories:
            mask = (column == group).to_numpy()
            group_rows.append(_row(attribute, group, mask.sum(), _scores_of(true[mask], pred[mask], class_names)))
        rows += group_rows + [_average_row(attribute, group_rows), _row(attribute, OVERALL_GROUP, len(true), overall)]
    return pd.DataFrame(rows, columns=list(GROUP_COLUMNS))



# --------------------------------------------------------------------------- disparities
def _disparity_row(attribute: str, metric: str, values: pd.Series) -> dict:
    """Spread of one metric over the non-empty groups of one attribute."""
    values = values.dropna()
    row = {"attribute": attribute, "metric": metric, "n_groups": len(values)}
    if values.empty:
        return {**row, "min": np.nan, "max": np.nan, "difference": np.nan, "ratio": np.nan,
                "worst_group": None, "best_group": None}
    low, high = float(values.min()), float(values.max())
    return {**row, "min": low, "max": high, "difference": high - low,
            "ratio": low / high if high > 0 else np.nan,
            "worst_group": str(values.idxmin()), "best_group": str(values.idxmax())}


def disparities(frame: pd.DataFrame) -> pd.DataFrame:
    """Per attribute and metric: min, max, difference (max - min), ratio (min / max), worst and best group.

    ``frame`` is a :func:`group_metrics` table. Aggregate rows and empty groups are
    ignored; ties name the first group in table order. The ratio is NaN when every group
    scores 0. A perfectly even attribute has difference 0 and ratio 1.
    """
    check_group_frame(frame, "frame")
    metric_columns = [metric for metric in METRICS if metric in frame.columns]
    rows = []
    for attribute, part in group_rows_only(frame).groupby("attribute", sort=False):
        indexed = part.set_index("group")
        rows += [_disparity_row(attribute, metric, indexed[metric]) for metric in metric_columns]
    columns = ["attribute", "metric", "n_groups", "min", "max", "difference", "ratio", "worst_group", "best_group"]
    return pd.DataFrame(rows, columns=columns)



# --------------------------------------------------------------------------- report
def _records(frame: pd.DataFrame) -> list[dict]:
    """JSON-safe records (NaN -> null, numpy scalars -> plain numbers)."""
    return json.loads(frame.to_json(orient="records", double_precision=10))


@dataclasses.dataclass
class FairnessReport:
    """Per-group table, its disparities and bootstrap intervals of one model's predictions.

    Attributes:
        by_group: :func:`group_metrics` table.
        disparities: :func:`disparities` of ``by_group``.
        intervals: :func:`bootstrap_group_ci` rows for accuracy and macro F1, stacked.
    """

    by_group: pd.DataFrame
    disparities: pd.DataFrame
    intervals: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"fairness_by_group": self.by_group, "fairness_disparities": self.disparities,
                "fairness_intervals": self.intervals}

    def to_markdown(self) -> str:
        """All three tables under headings, for a report or a README."""
        sections = [("Per-group metrics", self.by_group), ("Disparities", self.disparities),
                    ("Bootstrap intervals", self.intervals)]
        return "\n".join(f"## {heading}\n\n{to_markdown(table, index=False)}" for heading, table in sections)

    def write(self, out_dir: str | os.PathLike) -> Path:
        """``fairness_*.csv``, ``fairness.md``, ``fairness.json`` and ``plots/fairness_<metric>.png``."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables().items():
            table.to_csv(out_dir / f"{name}.csv", index=False)
        (out_dir / "fairness.md").write_text("# Fairness report\n\n" + self.to_markdown())
        records = {name.removeprefix("fairness_"): _records(table) for name, table in self.tables().items()}
        (out_dir / "fairness.json").write_text(json.dumps(records, indent=1, ensure_ascii=False))
        for metric in REPORT_INTERVAL_METRICS:
            plot_group_metrics(self.by_group, out_dir / RunDir.PLOTS / f"fairness_{metric}.png", metric, self.intervals)
        return out_dir


def fairness_report(predictions_frame: pd.DataFrame, attributes: str | Sequence[str],
                    class_names: Sequence[str], intersectional: bool = False, n_boot: int = 1000,
                    confidence: float = 0.95, seed: int = 0, label_column: str = "label",
                    prediction_column: str = "predicted", empty_groups: EmptyGroups = "nan") -> FairnessReport:
    """Per-group metrics, disparities and accuracy / macro-F1 intervals of a predictions frame.

    ``predictions_frame`` is ``Evaluation.predictions`` (or any frame with true and
    predicted class indices plus the attribute columns).
    """
    attributes = as_column_list(attributes)
    if not attributes:
        raise ValueError("attributes is empty; name at least one attribute column")
    require_columns(predictions_frame, [label_column, prediction_column, *attributes], "predictions_frame")
    y_true, y_pred = predictions_frame[label_column].to_numpy(), predictions_frame[prediction_column].to_numpy()
    groups = predictions_frame[attributes]
    by_group = group_metrics(y_true, y_pred, groups, class_names, intersectional, empty_groups=empty_groups)
    intervals = pd.concat(
        [bootstrap_group_ci(y_true, y_pred, groups, class_names, metric, n_boot, confidence, seed, intersectional)
         for metric in REPORT_INTERVAL_METRICS],
        ignore_index=True,
    )
    return FairnessReport(by_group, disparities(by_group), intervals)

