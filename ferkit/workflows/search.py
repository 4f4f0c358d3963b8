"""``run_search``: a cross-validated KerasTuner search of one config into a run directory.

Run directory::

    config.yaml  tune_setup.json  folds.csv     the search's settings and its folds
    search/                                     KerasTuner's project (oracle, trial_*/)
    trials.csv  trials.md                       one row per trial (results.results_table)
    best.json  best_config.yaml                 the best trial; a config to train it again
    plots/tuning_trials.png  plots/tuning_hparams.png
    run.json                                    written last: the search is finished

Starting again on the same directory resumes: finished trials are read back, the trial that
was running when the search stopped is run again, and the search goes on to ``max_trials``
(which may be raised). The other settings must stay the same (``tune_setup.json``). A
search whose ``run.json`` is there (:meth:`ferkit.runs.RunDir.is_complete`) and records the
same ``max_trials`` is finished and only read back.

Distributed (KerasTuner's chief + workers): every process runs the same command with
``KERASTUNER_TUNER_ID`` (``chief`` or ``tuner0``, ``tuner1``, ...), ``KERASTUNER_ORACLE_IP``
and ``KERASTUNER_ORACLE_PORT`` set. The chief serves the oracle and writes the table when
every worker is done; workers run trials and write their records into the shared ``search/``.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import keras_tuner
import numpy as np
import pandas as pd

from ferkit.config import Config, TuneConfig, save_config
from ferkit.config.space import HpSpec, space_to_dict
from ferkit.data.samples import Samples
from ferkit.data.sources import load_from_config
from ferkit.data.splits import kfold
from ferkit.errors import ConfigError
from ferkit.runs import RunDir, read_json, write_json_atomic, write_text_atomic
from ferkit.training.compile import head_names
from ferkit.training.distribute import make_strategy
from ferkit.tuning.families import family_for, resolve_space
from ferkit.tuning.hypermodels import FerHyperModel, best_config, score_names
from ferkit.tuning.results import best_row, results_table, write_results
from ferkit.tuning.resume import resume_trials_once, retry_while_the_chief_restarts
from ferkit.tuning.tuner import (CrossValidatedTuner, make_oracle, release_memory,
                                 repair_tuner_state, serve_oracle)

PROJECT = "search"
SETUP_FILE = "tune_setup.json"
FOLDS_FILE = "folds.csv"
BEST_FILE = "best.json"
BEST_CONFIG_FILE = "best_config.yaml"
_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


@dataclasses.dataclass
class TuneResult:
    """A finished search (or, on a distributed worker, this worker's part of it).

    Attributes:
        run_dir: the search's folder.
        role: ``single``, ``chief`` or ``worker``.
        objective, direction: what was optimised (mean over folds).
        table: one row per trial (None on a worker; the chief writes it).
        best: the best trial's row; best_values its hyperparameters.
        best_config: ``config`` with the best values filled in (``best_config.yaml``).
        trials_run: trial ids this process trained (not those read back on resume).
    """

    run_dir: Path
    role: str
    objective: str
    direction: str
    table: pd.DataFrame | None = None
    best: pd.Series | None = None
    best_values: dict[str, Any] | None = None
    best_config: Config | None = None
    trials_run: list[str] = dataclasses.field(default_factory=list)


# --------------------------------------------------------------------------- roles and checks
def trial_strategy(name: str):
    """The ``tf.distribute`` strategy each fold trains under (None for ``default``).

    ``multi_worker`` is refused: it needs every host to train the same model in step, while
    a search gives each worker trials of its own. Spread trials over hosts with KerasTuner's
    chief and workers instead, each worker using ``mirrored`` for its own GPUs.
    """
    if name == "multi_worker":
        raise ConfigError("ferkit tune does not take train.strategy 'multi_worker': spread "
                          "trials over hosts with KerasTuner's chief and workers "
                          "(KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT; "
                          "docs/guide/scaling.md) and use 'mirrored' for each host's GPUs")
    if name == "default":
        return None
    return make_strategy(name)


def distributed_role() -> tuple[str, str]:
    """(role, tuner id) from KerasTuner's environment variables: ``single`` without them."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single", os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
    missing = [name for name in _ENV if not os.environ.get(name)]
    if missing:
        raise ValueError(f"distributed tuning needs {', '.join(_ENV)}; {', '.join(missing)} "
                         "not set")
    tuner_id = os.environ["KERASTUNER_TUNER_ID"]
    return ("chief" if "chief" in tuner_id else "worker"), tuner_id


def objective_direction(objective: str, direction: str = "auto") -> str:
    """``min`` for losses, ``max`` for everything else, unless ``direction`` says."""
    if direction != "auto":
        return direction
    return "min" if objective.endswith("loss") else "max"


def check_objective(objective: str, heads: list[str]) -> None:
    """Raise unless a fold of a model with ``heads`` reports ``objective``."""
    names = score_names(heads)
    if objective not in names:
        raise ValueError(f"tune.objective {objective!r} is not a score of this model (heads "
                         f"{heads}); choose one of {names}")


def _setup(config: Config, tune: TuneConfig, space: dict[str, HpSpec], samples: Samples) -> dict:
    return {"model": config.model.name, "model_args": config.model.args, "tuner": tune.tuner,
            "objective": tune.objective, "direction": objective_direction(tune.objective,
                                                                          tune.direction),
            "folds": tune.folds, "fold_by": tune.fold_by, "val_fraction": tune.val_fraction,
            "seed": config.seed, "space": space_to_dict(space), "n_images": len(samples),
            "classes": list(samples.classes), "aus": list(samples.aus)}


def check_or_write_setup(run_dir: Path, setup: dict) -> None:
    """Refuse to resume a search made with other settings (``max_trials`` may change)."""
    path = run_dir / SETUP_FILE
    setup = json.loads(json.dumps(setup))  # tuples -> lists, as read back
    if path.is_file():
        previous = read_json(path)  # a damaged file is an error naming it
        changed = [f"{key}: {previous.get(key)!r} -> {value!r}" for key, value in setup.items()
                   if previous.get(key) != value]
        if changed:
            raise ValueError(f"{run_dir} holds a search with other settings ({'; '.join(changed)}); "
                             "use a new --out or the original settings to resume it")
    write_json_atomic(path, setup)


# --------------------------------------------------------------------------- data and folds
def make_folds(samples: Samples, tune: TuneConfig, seed: int) -> list[pd.Series]:
    """``tune.folds`` folds with train / val / test (held-out) rows, grouped by
    ``tune.fold_by`` (e.g. subject) or, when null, stratified per image."""
    if tune.fold_by and tune.fold_by not in samples.frame.columns:
        raise ValueError(f"tune.fold_by {tune.fold_by!r} is not a column of {samples.source} "
                         f"(columns: {list(samples.frame.columns)}); use null for image-level folds")
    try:
        folds = kfold(samples.frame, tune.folds, stratify="label", group=tune.fold_by or None,
                      val_fraction=tune.val_fraction, seed=seed)
    except ValueError as err:
        raise ValueError(f"tune.folds = {tune.folds}: {err}") from None
    for index, split in enumerate(folds, start=1):
        empty = [name for name in ("train", "val", "test") if not (split == name).any()]
        if empty:
            unit = f"{tune.fold_by} groups" if tune.fold_by else "images"
            units = samples.frame[tune.fold_by].nunique() if tune.fold_by else len(samples)
            raise ValueError(f"tune.folds = {tune.folds}: fold {index} has no {'/'.join(empty)} "
                             f"rows ({units} {unit} in all); raise tune.val_fraction "
                             f"({tune.val_fraction}) or use fewer folds or more data")
    return folds


def _load(config: Config, run_dir: Path, role: str, tuner_id: str) -> Samples:
    """The configured data; synthetic data goes to a folder of its own per process."""
    workdir = run_dir if role == "single" else run_dir / f"data_{tuner_id}"
    return load_from_config(config.data, workdir, config.seed)


def _folds_frame(samples: Samples, folds: list[pd.Series], group: str | None) -> pd.DataFrame:
    columns = [c for c in ("path", group, "label") if c and c in samples.frame.columns]
    frame = samples.frame[columns].copy()
    for index, split in enumerate(folds, start=1):
        frame[f"fold_{index}"] = split.to_numpy()
    return frame


# --------------------------------------------------------------------------- best trial
def _best_values(project_dir: Path, trial_id: str) -> dict:
    info = read_json(project_dir / f"trial_{trial_id}" / "trial.json")
    return dict(info["hyperparameters"]["values"])


# --------------------------------------------------------------------------- the search
def _say(verbose: int, text: str) -> None:
    if verbose:
        print(f"[tune] {text}", flush=True)


def prepare_search(config: Config, run_dir: Path, samples: Samples | None = None,
                   verbose: int = 1):
    """Everything but the search itself: role, checked space, data, folds, hypermodel.

    Returns ``(role, tuner_id, tune, space, samples, folds, hypermodel)``; raises on any
    bad setting before a model trains.
    """
    tune = config.tune or TuneConfig()
    if config.data.ferplus_aux:
        raise ValueError("data.ferplus_aux (the FER+ votes as a second head) is not searched by "
                         "ferkit tune yet; tune without it (--set data.ferplus_aux=false), then "
                         "train the chosen setting with it")
    role, tuner_id = distributed_role()
    space = resolve_space(family_for(config.model.name), tune.space, tune.tuner)
    if samples is None:
        samples = _load(config, run_dir, role, tuner_id)
    folds = make_folds(samples, tune, config.seed)
    train_rows = int(np.mean([(split == "train").sum() for split in folds]))
    size, channels = config.data.image_size, config.data.channels
    hypermodel = FerHyperModel(config, (size[0], size[1], channels), len(samples.classes),
                               len(samples.aus), space, tune.tuner, train_rows)
    heads = head_names(hypermodel.build(keras_tuner.HyperParameters()))
    release_memory()
    check_objective(tune.objective, heads)
    if "au" in heads and not samples.aus:
        raise ValueError(f"{samples.source}: the model has an AU head but the data has no AUs")
    _say(verbose, f"{role} {tuner_id}: {len(samples)} images, {tune.folds} folds"
                  f"{' by ' + tune.fold_by if tune.fold_by else ''}, family "
                  f"{hypermodel.family.name}, {tune.tuner} search over {list(space)}")
    return role, tuner_id, tune, space, samples, folds, hypermodel


def run_search(config: Config, run_dir: str | Path, samples: Samples | None = None,
               distribution_strategy=None, verbose: int = 1) -> TuneResult:
    """Search ``config.tune``'s space with cross-validated trials into ``run_dir``.

    ``samples`` (loaded, any ``split`` column ignored) replaces loading ``config.data``.
    ``distribution_strategy`` (a ``tf.distribute.Strategy``; default: made from
    ``train.strategy``) is passed to KerasTuner, which builds and trains each fold's model
    inside its scope. See the module docstring for the run directory, resuming and
    distributed searches.
    """
    if distribution_strategy is None:
        distribution_strategy = trial_strategy(config.train.strategy)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    role, tuner_id, tune, space, samples, folds, hypermodel = prepare_search(
        config, run_dir, samples, verbose)
    direction = objective_direction(tune.objective, tune.direction)
    run = RunDir(run_dir)
    if role != "worker":
        check_or_write_setup(run_dir, _setup(config, tune, space, samples))
        if _finished(run, tune):
            _say(verbose, f"{run_dir} holds this search, finished: read back")
            result = TuneResult(run_dir, role, tune.objective, direction)
            return _read_results(result, config, hypermodel, space)
        run.begin()
        save_config(config, run / RunDir.CONFIG)
        write_text_atomic(run_dir / FOLDS_FILE,
                          _folds_frame(samples, folds, tune.fold_by).to_csv(index=False))
    tuner = _tuner(config, tune, direction, hypermodel, run_dir, distribution_strategy, verbose,
                   chief=role == "chief")
    if role == "chief":
        _say(verbose, f"chief: serving the oracle on {os.environ['KERASTUNER_ORACLE_IP']}:"
                      f"{os.environ['KERASTUNER_ORACLE_PORT']}")
        serve_oracle(tuner)
    else:
        tuner.search(samples, folds, verbose=verbose)
    result = TuneResult(run_dir, role, tune.objective, direction, trials_run=list(tuner.trials_run))
    if role == "worker":
        _say(verbose, f"worker {tuner_id} ran trials {result.trials_run}")
        return result
    result = _read_results(result, config, hypermodel, space)
    _write_results(result, space)
    run.commit({"name": config.name, "max_trials": tune.max_trials, "trials": len(result.table),
                "objective": result.objective, "direction": result.direction,
                "best_trial": result.best["trial"], "best_mean": float(result.best["mean"])})
    return result


def _finished(run: RunDir, tune: TuneConfig) -> bool:
    """Whether ``run`` holds this search finished: committed, with as many trials asked for
    (a raised ``tune.max_trials`` goes on searching)."""
    return run.is_complete() and run.read_run().get("max_trials") == tune.max_trials


def _tuner(config: Config, tune: TuneConfig, direction: str, hypermodel: FerHyperModel,
           run_dir: Path, distribution_strategy, verbose: int,
           chief: bool = False) -> CrossValidatedTuner:
    """The search's tuner on ``run_dir/search``, resuming what is there without running a
    trial twice; a restarted ``chief`` leaves the trials that were running with the workers
    running them, and a worker waits out a chief's restart (:mod:`ferkit.tuning.resume`)."""
    oracle = make_oracle(tune.tuner, keras_tuner.Objective(tune.objective, direction),
                         tune.max_trials, config.seed, tune.max_epochs, tune.factor,
                         tune.hyperband_iterations, tune.initial_points,
                         tune.max_retries_per_trial, tune.max_consecutive_failed_trials)
    resume_trials_once(oracle, keep_assignments=chief)
    for path in repair_tuner_state(run_dir / PROJECT):
        _say(verbose, f"{path} was empty or cut short (a killed run); rewritten as {{}}")
    tuner = CrossValidatedTuner(oracle, hypermodel, seed=config.seed, verbose=verbose,
                                directory=str(run_dir), project_name=PROJECT, overwrite=False,
                                distribution_strategy=distribution_strategy)
    return retry_while_the_chief_restarts(tuner)


def _read_results(result: TuneResult, config: Config, hypermodel: FerHyperModel,
                  space: dict[str, HpSpec]) -> TuneResult:
    """``result`` with the table, the best trial and its config, from the trials on disk."""
    project = result.run_dir / PROJECT
    result.table = results_table(project, space, result.direction)
    result.best = best_row(result.table)
    result.best_values = _best_values(project, result.best["trial"])
    result.best_config = best_config(config, hypermodel, result.best_values)
    return result


def _write_results(result: TuneResult, space: dict[str, HpSpec]) -> None:
    """The table, plots, ``best.json`` and ``best_config.yaml``."""
    write_results(result.table, result.run_dir, result.objective, space, result.direction)
    save_config(result.best_config, result.run_dir / BEST_CONFIG_FILE)
    write_json_atomic(result.run_dir / BEST_FILE, {
        "trial": result.best["trial"], "objective": result.objective,
        "direction": result.direction, "mean": float(result.best["mean"]),
        "std": float(result.best["std"]), "hyperparameters": result.best_values})


__all__ = ["TuneResult", "run_search", "trial_strategy", "prepare_search", "make_folds",
           "check_objective", "distributed_role", "objective_direction"]
