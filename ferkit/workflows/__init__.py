"""Workflows: the only place that trains, scores and writes run directories.

Each workflow decides whether a run directory is finished with
:meth:`ferkit.runs.RunDir.is_complete` (``run.json``, written last), so a run killed halfway
is trained again by every one of them. Names are imported on first use: the workflows load
TensorFlow, ``import ferkit.workflows`` does not.
"""
from __future__ import annotations

import importlib

#: Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "RunResult": "ferkit.workflows.experiment",
    "assign_splits": "ferkit.workflows.experiment",
    "prepare_data": "ferkit.workflows.experiment",
    "run_experiment": "ferkit.workflows.experiment",
    "train_on_samples": "ferkit.workflows.experiment",
    "run_grid": "ferkit.workflows.grid",
    "TuneResult": "ferkit.workflows.search",
    "make_folds": "ferkit.workflows.search",
    "prepare_search": "ferkit.workflows.search",
    "run_search": "ferkit.workflows.search",
    "KFoldResult": "ferkit.workflows.kfold",
    "cross_validate": "ferkit.workflows.kfold",
    "OcclusionResult": "ferkit.workflows.occlusion",
    "occlusion_protocol": "ferkit.workflows.occlusion",
    "RunEvaluation": "ferkit.workflows.evaluate",
    "evaluate_run": "ferkit.workflows.evaluate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ferkit.workflows' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
