"""Evaluation scores, and only scores: metric frames validated against scikit-learn, a model on
samples (with test-time augmentation), fairness by group, the k-fold and occlusion tables,
and plots. Training and multi-run orchestration (k-fold, occlusion protocol, scoring a run
directory) live in :mod:`ferkit.workflows`.

``evaluate_model`` / ``Evaluation`` need TensorFlow and are imported on first use, so the
pure-numpy metric and fairness functions stay quick to import.
"""
from ferkit.evaluation.fairness import (
    bootstrap_group_ci,
    compare_mitigation,
    disparities,
    fairness_report,
    group_metrics,
    group_weights,
    rebalance,
)
from ferkit.evaluation.metrics import (
    classification_report,
    confusion_matrix,
    multilabel_report,
    multilabel_summary,
    summary,
)
from ferkit.evaluation.kfold import kfold_table
from ferkit.evaluation.occlusion import (
    occlusion_matrix, pivot_matrix, plot_occlusion_matrix, stacked_matrix,
)
from ferkit.evaluation.plots import plot_confusion_matrix, plot_history, plot_per_class

_LAZY = {"Evaluation", "evaluate_model"}

__all__ = [
    "classification_report", "confusion_matrix", "multilabel_report", "multilabel_summary",
    "summary", "Evaluation", "evaluate_model", "plot_confusion_matrix", "plot_history",
    "plot_per_class", "bootstrap_group_ci", "compare_mitigation", "disparities",
    "fairness_report", "group_metrics", "group_weights", "rebalance", "kfold_table",
    "occlusion_matrix", "pivot_matrix", "plot_occlusion_matrix", "stacked_matrix",
]


def __getattr__(name):
    if name in _LAZY:
        from ferkit.evaluation import evaluate

        return getattr(evaluate, name)
    raise AttributeError(f"module 'ferkit.evaluation' has no attribute {name!r}")
