"""``CrossValidatedTuner``: a KerasTuner Tuner whose every trial trains one model per fold.

Each trial builds a fresh model per fold (clearing the Keras session and collecting garbage
before each, so memory stays flat over long searches), trains it with the hypermodel's
``fit`` and reports to the oracle the mean of every score over the folds, plus the
objective's per-fold values (``<objective>_fold1`` ...) and standard deviation. The oracle
(random, Bayesian, Hyperband or grid) only ever sees the mean, so any KerasTuner search
strategy works unchanged, and so does KerasTuner's distributed mode: the trial loop runs
on each worker, the oracle on the chief.

Per trial, ``<project>/trial_<id>/ferkit_trial.json`` records the hyperparameters, every
fold's scores, the wall time, the process's memory after the trial and which tuner (worker)
ran it; the results table is read from these files.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import time
from pathlib import Path
from typing import Sequence

import keras
import keras_tuner
import numpy as np
import pandas as pd

from ferkit.data.samples import Samples
from ferkit.runs import write_text_atomic

TUNERS: tuple[str, ...] = ("random", "bayesian", "hyperband", "grid")
TRIAL_RECORD = "ferkit_trial.json"


def write_json_atomically(path: str | os.PathLike, obj) -> str:
    """Write ``obj`` as JSON to a temporary file beside ``path``, then rename it over ``path``.

    KerasTuner truncates and rewrites its state files in place; a process killed in between
    leaves an empty ``oracle.json`` / ``trial.json`` that stops the search from resuming.
    A rename is atomic, so a reader sees the old file or the new one, never half of one.
    """
    text = json.dumps(obj)
    path = os.fspath(path)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    return text


def _use_atomic_state_files() -> None:
    """Route KerasTuner's state writes (oracle, tuner, trials) through the atomic writer.

    Local paths only; other filesystems (e.g. ``gs://``) keep KerasTuner's own writer.
    """
    from keras_tuner.src import utils as kt_utils

    original = getattr(kt_utils.save_json, "ferkit_original", kt_utils.save_json)

    def save_json(path, obj):
        if "://" in os.fspath(path):
            return original(path, obj)
        return write_json_atomically(path, obj)

    save_json.ferkit_original = original
    kt_utils.save_json = save_json


_use_atomic_state_files()


def repair_tuner_state(project_dir: str | os.PathLike) -> list[Path]:
    """Rewrite empty or unreadable ``tuner*.json`` files of a project as ``{}``.

    A tuner's own saved state is always empty (the oracle and trials hold the search), so
    this loses nothing; it lets a search killed mid-write by an older ferkit resume.
    Returns the files repaired.
    """
    repaired = []
    for path in sorted(Path(project_dir).glob("tuner*.json")):
        try:
            json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            write_text_atomic(path, "{}")
            repaired.append(path)
    return repaired


def release_memory() -> None:
    """Drop Keras' global graph state and collect garbage (between folds and trials)."""
    keras.backend.clear_session()
    gc.collect()


def rss_mb() -> float:
    """This process's resident memory in MiB (``VmRSS`` from /proc, else peak RSS)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fold_metrics(per_fold: Sequence[dict[str, float]], objective: str) -> dict[str, float]:
    """What a trial reports: every score's mean over folds, and the objective's per-fold values
    (``<objective>_fold1``, ...) and sample standard deviation (``<objective>_std``)."""
    frame = pd.DataFrame(list(per_fold))
    if objective not in frame.columns:
        raise ValueError(f"objective {objective!r} is not among the fold scores "
                         f"{sorted(frame.columns)}")
    metrics = {name: float(frame[name].mean()) for name in frame.columns}
    for index, value in enumerate(frame[objective], start=1):
        metrics[f"{objective}_fold{index}"] = float(value)
    metrics[f"{objective}_std"] = float(frame[objective].std(ddof=1)) if len(frame) > 1 else 0.0
    return metrics


def make_oracle(tuner: str, objective: keras_tuner.Objective, max_trials: int | None, seed: int,
                max_epochs: int = 20, factor: int = 3, hyperband_iterations: int = 1,
                initial_points: int | None = None, max_retries_per_trial: int = 0,
                max_consecutive_failed_trials: int = 3) -> keras_tuner.Oracle:
    """The KerasTuner oracle for ``tuner`` (one of :data:`TUNERS`)."""
    common = dict(objective=objective, seed=seed, max_retries_per_trial=max_retries_per_trial,
                  max_consecutive_failed_trials=max_consecutive_failed_trials)
    oracles = keras_tuner.oracles
    if tuner == "random":
        return oracles.RandomSearchOracle(max_trials=max_trials, **common)
    if tuner == "bayesian":
        return oracles.BayesianOptimizationOracle(max_trials=max_trials,
                                                  num_initial_points=initial_points, **common)
    if tuner == "hyperband":
        return oracles.HyperbandOracle(max_epochs=max_epochs, factor=factor,
                                       hyperband_iterations=hyperband_iterations, **common)
    if tuner == "grid":
        return oracles.GridSearchOracle(max_trials=max_trials, **common)
    raise ValueError(f"tuner {tuner!r} is not one of {list(TUNERS)}")


class CrossValidatedTuner(keras_tuner.Tuner):
    """Runs every trial on each of ``folds`` (split Series over ``samples``); see the module.

    ``search(samples, folds)`` takes the data once; ``seed`` fixes each fold's weight
    initialisation and shuffling (fold ``i`` uses ``seed + i``), so the same hyperparameters
    give the same scores in one process or spread over workers.
    """

    def __init__(self, oracle, hypermodel, seed: int = 0, verbose: int = 1, **kwargs):
        super().__init__(oracle, hypermodel, **kwargs)
        self.seed = int(seed)
        self.fit_verbose = 0
        self.say_progress = bool(verbose)
        self.trials_run: list[str] = []

    def _scope(self):
        strategy = self.distribution_strategy
        return strategy.scope() if strategy is not None else contextlib.nullcontext()

    def _say(self, text: str) -> None:
        if self.say_progress:
            print(f"[tune {self.tuner_id}] {text}", flush=True)

    def run_fold(self, hp, samples: Samples, split: pd.Series, index: int) -> dict[str, float]:
        """Train a fresh model on one fold and return its held-out scores."""
        release_memory()
        seed = self.seed + index
        keras.utils.set_random_seed(seed)
        fold = dataclasses.replace(samples, frame=samples.frame.assign(split=split.to_numpy()))
        with self._scope():  # the engine builds the model, as ferkit train does
            return self.hypermodel.fit(hp, None, fold, verbose=self.fit_verbose, seed=seed)

    def run_trial(self, trial, samples: Samples, folds: Sequence[pd.Series], **_) -> dict:
        start = time.perf_counter()
        hp = trial.hyperparameters
        objective = self.oracle.objective.name
        per_fold = []
        for index, split in enumerate(folds, start=1):
            fold_start = time.perf_counter()
            per_fold.append(self.run_fold(hp, samples, split, index))
            self._say(f"trial {trial.trial_id} fold {index}/{len(folds)}: {objective} = "
                      f"{per_fold[-1][objective]:.4f} ({time.perf_counter() - fold_start:.1f} s)")
        release_memory()
        metrics = fold_metrics(per_fold, objective)
        self._record(trial, per_fold, metrics, time.perf_counter() - start)
        self.trials_run.append(trial.trial_id)
        return metrics

    def _record(self, trial, per_fold: list[dict], metrics: dict, seconds: float) -> None:
        objective = self.oracle.objective.name
        record = {
            "trial_id": trial.trial_id, "tuner_id": self.tuner_id, "pid": os.getpid(),
            "hyperparameters": dict(trial.hyperparameters.values),
            "objective": objective, "mean": metrics[objective],
            "std": metrics[f"{objective}_std"], "folds": per_fold, "seconds": seconds,
            "rss_mb": rss_mb(), "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        path = Path(self.get_trial_dir(trial.trial_id)) / TRIAL_RECORD
        write_text_atomic(path, json.dumps(record, indent=1, default=_plain))

    # Models are not kept per trial: a cross-validated trial has one per fold. Retrain the
    # best hyperparameters (``TuneResult.best_config``) instead.
    def save_model(self, trial_id, model, step=0):
        return None

    def load_model(self, trial):
        raise NotImplementedError("cross-validated trials keep no model; train the best "
                                  "config again (ferkit train --config RUN_DIR/best_config.yaml)")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def serve_oracle(tuner: keras_tuner.Tuner, poll_seconds: float = 0.5) -> None:
    """Run the chief's oracle service until every worker has finished.

    What ``Tuner.search`` does on the chief (``KERASTUNER_TUNER_ID`` containing ``chief``),
    polling every ``poll_seconds`` for the end instead of every 20 s, so a finished search
    returns promptly.
    """
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    tuner.save()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = oracle_chief.OracleServicer(tuner.oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    if not server.add_insecure_port(address):
        raise OSError(f"the chief oracle cannot listen on {address} (port in use?)")
    server.start()
    try:
        while not (servicer.stop_triggered and oracle_chief.exit_chief(tuner.oracle)):
            time.sleep(poll_seconds)
    finally:
        server.stop(grace=1.0)
