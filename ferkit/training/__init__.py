"""Training: compile by head name, ``fit`` into a run directory, ``run_experiment`` end to end."""
from ferkit.training.compile import compile_model, head_losses_and_metrics, head_names
from ferkit.training.experiment import (
    RunResult, build_model, prepare_data, run_experiment, train_on_samples,
)
from ferkit.training.fit import fit

__all__ = ["compile_model", "head_losses_and_metrics", "head_names", "RunResult", "build_model",
           "prepare_data", "run_experiment", "train_on_samples", "fit"]
