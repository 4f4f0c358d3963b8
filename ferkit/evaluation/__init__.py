"""Evaluation: metric frames validated against scikit-learn, and their plots."""
from ferkit.evaluation.metrics import (
    classification_report,
    confusion_matrix,
    multilabel_report,
    multilabel_summary,
    summary,
)
from ferkit.evaluation.evaluate import Evaluation, evaluate_model
from ferkit.evaluation.plots import plot_confusion_matrix, plot_history, plot_per_class

__all__ = [
    "classification_report", "confusion_matrix", "multilabel_report", "multilabel_summary",
    "summary", "Evaluation", "evaluate_model", "plot_confusion_matrix", "plot_history", "plot_per_class",
]
