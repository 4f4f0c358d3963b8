"""KerasTuner pieces of a cross-validated search: the hypermodel (trials train through
:mod:`ferkit.training.engine`), the tuner and its oracles, model families, results tables.

The search itself (folds, resume, the run directory) is :func:`ferkit.workflows.run_search`;
see docs/guide/tuning.md.

Names are imported on first use, so importing the package loads no KerasTuner; the
search-space specs (``HpSpec``, ``parse_space``) live in :mod:`ferkit.config.space`.
"""
from __future__ import annotations

import importlib

from ferkit.config.space import HpSpec, parse_space

_EXPORTS = {
    "FerHyperModel": "hypermodels", "score_names": "hypermodels",
    "best_config": "hypermodels",
    "CrossValidatedTuner": "tuner", "make_oracle": "tuner", "TUNERS": "tuner",
    "FAMILIES": "families", "Family": "families", "family_for": "families",
    "resolve_space": "families",
    "results_table": "results", "write_results": "results",
}

__all__ = sorted([*_EXPORTS, "HpSpec", "parse_space"])


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ferkit.tuning' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ferkit.tuning.{_EXPORTS[name]}"), name)
