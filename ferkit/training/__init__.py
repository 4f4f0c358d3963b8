"""Training: the one fit path (:mod:`ferkit.training.engine`), compiling by head name, ``fit``.

Whole runs (train, score, write a run directory) are :mod:`ferkit.workflows`.
"""
from ferkit.training.compile import compile_model, head_losses_and_metrics, head_names
from ferkit.training.engine import (
    HeadSizes, TrainOutcome, build_compiled_model, build_model, make_datasets, train,
)
from ferkit.training.fit import fit

__all__ = ["compile_model", "head_losses_and_metrics", "head_names", "HeadSizes", "TrainOutcome",
           "build_compiled_model", "build_model", "make_datasets", "train", "fit"]
