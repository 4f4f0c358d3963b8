"""Evaluation: metric frames validated against scikit-learn, fairness by group, and plots.

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
from ferkit.evaluation.kfold import KFoldResult, cross_validate
from ferkit.evaluation.occlusion import (
    OcclusionResult, occlusion_matrix, occlusion_protocol, pivot_matrix, plot_occlusion_matrix,
    stacked_matrix,
)
from ferkit.evaluation.plots import plot_confusion_matrix, plot_history, plot_per_class

_LAZY = {"Evaluation", "evaluate_model"}

__all__ = [
    "classification_report", "confusion_matrix", "multilabel_report", "multilabel_summary",
    "summary", "Evaluation", "evaluate_model", "plot_confusion_matrix", "plot_history",
    "plot_per_class", "bootstrap_group_ci", "compare_mitigation", "disparities",
    "fairness_report", "group_metrics", "group_weights", "rebalance", "KFoldResult",
    "cross_validate", "OcclusionResult", "occlusion_matrix", "occlusion_protocol",
    "pivot_matrix", "plot_occlusion_matrix", "stacked_matrix",
]


def __getattr__(name):
    if name in _LAZY:
        from ferkit.evaluation import evaluate

        return getattr(evaluate, name)
    raise AttributeError(f"module 'ferkit.evaluation' has no attribute {name!r}")
