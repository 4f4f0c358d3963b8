"""A search started again, or a chief restarted under live workers, runs every trial once.

KerasTuner resumes a search from ``oracle.json`` and ``trial_*/trial.json``, but three gaps
let a killed process cost a trial or run one twice:

- its saved state lists a trial as running until after the trial's end is recorded, and a
  reload queues every listed trial again, ended or not;
- a reload queues the running trials for whichever tuner asks first, so a chief restarted
  while its workers go on hands a trial a live worker is training to a second worker;
- a trial's ``trial.json`` is saved just before ``oracle.json``, so a chief killed between the
  two reloads a trial it never started (listed as running forever); a trial's start time is
  saved only after ``oracle.json``, so a restarted chief fails to end a trial it reloaded
  (``KeyError`` on the trial id); the grid oracle keeps its walk through the grid in memory
  only, so a grid search reloaded stops early or fails (``KeyError``) at its next trial; and
  a worker whose request was cut by the chief's death stops with a gRPC error.

:func:`resume_trials_once` closes the first two on the oracle (single process or chief),
:func:`retry_while_the_chief_restarts` the last on a worker.
"""
from __future__ import annotations

import functools
import json
import time
from datetime import datetime
from pathlib import Path

import keras_tuner

#: How often a worker sends a request again while the chief is down, and the pause between.
CHIEF_RETRIES = 30
CHIEF_RETRY_SECONDS = 2.0


def resume_trials_once(oracle: keras_tuner.Oracle, keep_assignments: bool = False
                       ) -> keras_tuner.Oracle:
    """Make ``oracle.reload`` never run a trial twice, nor keep one it never started.

    Ended trials (``end_order``) are never queued again; trials whose ``trial.json`` was saved
    but which the saved state never started are forgotten (their id is given to the next new
    trial). With ``keep_assignments`` (a distributed chief) each trial still running stays
    assigned to its tuner id, as it is while the chief lives: a live worker ends it, and a
    dead one gets it back when started again with the same ``KERASTUNER_TUNER_ID``; and a
    trial's end reported twice (a worker sending it again to the restarted chief) counts once.
    Returns ``oracle``, changed in place.
    """
    reload = oracle.reload

    def reload_once():
        reload()
        started = set(oracle.start_order)
        for trial_id in [t for t in oracle.trials if t not in started]:
            del oracle.trials[trial_id]
        ended = set(oracle.end_order)
        oracle._retry_queue[:] = [t for t in oracle._retry_queue if t not in ended]
        _start_times_of_every_trial(oracle)
        _rebuild_the_grid_walk(oracle)
        if keep_assignments:
            _give_running_trials_back(oracle)

    oracle.reload = reload_once
    if keep_assignments:
        _end_each_trial_once(oracle)
    return oracle


def _start_times_of_every_trial(oracle: keras_tuner.Oracle) -> None:
    """Give KerasTuner's progress display a start (now) and a number for each started trial
    it has none for, and the search a start, so ending a reloaded trial does not fail."""
    display = getattr(oracle, "_display", None)
    if display is None:
        return
    now = datetime.now()
    if display.search_start is None and oracle.start_order:
        display.search_start = now
    for number, trial_id in enumerate(oracle.start_order, start=1):
        display.trial_start.setdefault(trial_id, now)
        display.trial_number.setdefault(trial_id, number)


def _rebuild_the_grid_walk(oracle: keras_tuner.Oracle) -> None:
    """A reloaded grid oracle's order of the started trials by their values, and the trials
    to find the next grid points from (all of them: the ones already tried are skipped)."""
    if not isinstance(oracle, keras_tuner.oracles.GridSearchOracle):
        return
    from keras_tuner.src.tuners.gridsearch import LinkedList

    started = [trial_id for trial_id in oracle.start_order if trial_id in oracle.trials]

    def by_values(a: str, b: str) -> int:
        return oracle._compare(oracle.trials[a].hyperparameters.values,
                               oracle.trials[b].hyperparameters.values)

    walk = LinkedList()
    for trial_id in sorted(started, key=functools.cmp_to_key(by_values)):
        walk.insert(trial_id)
    oracle._ordered_ids, oracle._populate_next = walk, started


def _give_running_trials_back(oracle: keras_tuner.Oracle) -> None:
    saved = json.loads(Path(oracle._get_oracle_fname()).read_text())
    for tuner_id, trial_id in saved.get("ongoing_trials", {}).items():
        if trial_id in oracle._retry_queue and trial_id in oracle.trials:
            oracle._retry_queue.remove(trial_id)
            oracle.ongoing_trials[tuner_id] = oracle.trials[trial_id]


def _end_each_trial_once(oracle: keras_tuner.Oracle) -> None:
    end_trial = oracle.end_trial

    def end_trial_once(trial):
        if trial.trial_id in oracle.end_order:
            for tuner_id, running in list(oracle.ongoing_trials.items()):
                if running.trial_id == trial.trial_id:
                    oracle.ongoing_trials.pop(tuner_id)
            return None
        return end_trial(trial)

    oracle.end_trial = end_trial_once


class _RetryingStub:
    """A gRPC stub whose calls are sent again while the server is unavailable."""

    def __init__(self, stub, retries: int, pause: float):
        self._stub, self._retries, self._pause = stub, retries, pause

    def __getattr__(self, name: str):
        call = getattr(self._stub, name)

        def call_again_while_unavailable(*args, **kwargs):
            import grpc

            for attempt in range(self._retries + 1):
                try:
                    return call(*args, **kwargs)
                except grpc.RpcError as err:
                    if err.code() != grpc.StatusCode.UNAVAILABLE or attempt == self._retries:
                        raise
                    time.sleep(self._pause)

        return call_again_while_unavailable


def retry_while_the_chief_restarts(tuner: keras_tuner.Tuner, retries: int = CHIEF_RETRIES,
                                   pause: float = CHIEF_RETRY_SECONDS) -> keras_tuner.Tuner:
    """On a distributed worker, send a request cut by the chief's death again (``retries``
    times, ``pause`` seconds apart) instead of stopping: the restarted chief answers it.
    Does nothing on a tuner that talks to no chief. Returns ``tuner``."""
    client = tuner.oracle
    if hasattr(client, "stub") and not isinstance(client.stub, _RetryingStub):
        client.stub = _RetryingStub(client.stub, retries, pause)
    return tuner


__all__ = ["resume_trials_once", "retry_while_the_chief_restarts"]
