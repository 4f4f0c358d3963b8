"""Fairness: per-group performance, disparities, bootstrap intervals and data-side bias mitigation.

Every result is a tidy pandas frame. The per-group table (:func:`group_metrics`) has one
row per attribute x group and one column per metric; after each attribute's groups come
two aggregate rows, ``average`` (unweighted mean of the groups, the "Total/Average" row
of a per-group bias table) and ``overall`` (the metrics on all rows together).

Group conventions
-----------------
* An attribute is a column of group labels (``race``, ``gender``, ...). Labels are shown
  as strings; "average" and "overall" are reserved.
* Groups are listed in category order for a pandas ``Categorical`` and sorted otherwise.
* A declared group with no rows (an unused category, or an intersection that never
  occurs) gets a row with ``n_images = 0`` and NaN metrics by default, so a missing
  group is visible rather than silently dropped. Pass ``empty_groups="raise"`` to make
  it an error instead. Empty groups are left out of averages and disparities.
* Missing (NaN) group labels are an error: fill or drop those rows first.
* Intersections of two attributes are named ``race×gender`` with groups like
  ``black×male``; their groups are every combination of the two attributes' groups.

Precision, recall and F1 per group come from :func:`ferkit.evaluation.metrics.summary`,
so they follow its conventions (macro averages over all ``class_names``; a ratio with a
zero denominator is 0).
"""
from ferkit.evaluation.fairness.bootstrap import bootstrap_group_ci
from ferkit.evaluation.fairness.groups import (
    AVERAGE_GROUP, GROUP_COLUMNS, INTERSECTION, METRICS, OVERALL_GROUP, RESERVED_GROUPS,
)
from ferkit.evaluation.fairness.metrics import (
    REPORT_INTERVAL_METRICS, FairnessReport, disparities, fairness_report, group_metrics,
)
from ferkit.evaluation.fairness.mitigation import (
    DIFFERENCE_ROW, RATIO_ROW, compare_mitigation, group_weights, plot_mitigation_comparison,
    rebalance, rebalance_plan,
)
from ferkit.evaluation.fairness.plots import plot_group_metrics

__all__ = [
    "AVERAGE_GROUP", "DIFFERENCE_ROW", "FairnessReport", "GROUP_COLUMNS", "INTERSECTION", "METRICS",
    "OVERALL_GROUP", "RATIO_ROW", "REPORT_INTERVAL_METRICS", "RESERVED_GROUPS", "bootstrap_group_ci", "compare_mitigation", "disparities",
    "fairness_report", "group_metrics", "group_weights", "plot_group_metrics",
    "plot_mitigation_comparison", "rebalance", "rebalance_plan",
]
