"""Kill -9 at any moment: every long job started again finishes as if never stopped.

``ferkit train``, ``ferkit kfold``, the seed-002 grid (``examples/seed002_grid.py``) and a
distributed ``ferkit tune`` (a chief and two workers on loopback) run as subprocesses on tiny
synthetic data. Each is SIGKILLed at named points (``FERKIT_FAULT_KILL_AT``, see
:mod:`ferkit._faults`): during an epoch, while the best-epoch checkpoint, the epoch backup,
``run.json`` or the oracle's state is being written, a worker mid-trial. Then the same command
runs again, and the test asserts the job ends with the runs / trials an uninterrupted job
has, each once; that committed runs are read back, not trained again; and that every JSON,
YAML and CSV file parses and every ``model.keras`` loads.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ferkit import _faults

ROOT = Path(__file__).resolve().parents[2]

#: Three classes of 24x24 synthetic faces and a 4-filter CNN: seconds per run on a busy CPU.
TINY = """
seed: 0
data:
  source: folders
  classes: [happy, neutral, surprised]
  image_size: [24, 24]
  synthetic: {images: 90, classes: {happy: happy, neutral: neutral, surprised: surprise}}
augment: null
model: {name: seed001_variant2, args: {filters: [4], dropout: 0.0}}
"""
TRAIN = TINY + """
name: tiny_kill9
split: {method: stratified, fractions: [0.6, 0.2, 0.2]}
train: {epochs: 3, batch_size: 16, patience: 5, jit_compile: false, verbose: 0}
"""
TUNE = TINY + """
name: tiny_kill9_tune
train: {epochs: 1, batch_size: 16, patience: 5, jit_compile: false, verbose: 0}
tune:
  tuner: grid
  objective: val_loss
  max_trials: null
  folds: 2
  fold_by: null
  val_fraction: 0.3
  space:
    filters: {type: choice, values: [4, 8]}
    learning_rate: {type: choice, values: [0.001, 0.003]}
"""
GRID_POINTS = {(4, 0.001), (4, 0.003), (8, 0.001), (8, 0.003)}
#: The seed-002 grid example, on its own --fast settings with smaller images.
GRID_FAST = ["--fast", "--set", "data.synthetic.images=100", "--set", "train.batch_size=32"]
GRID_MODELS = ["B16_N4_FC1_K3", "B32_N4_FC1_K3"]

KILLED = -signal.SIGKILL


# --------------------------------------------------------------------------- processes
def ferkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "ferkit.cli", *args]


def start(command: list[str], cwd: Path, kill_at: str | None = None, **env) -> subprocess.Popen:
    """``command`` in the background; ``kill_at`` arms its fault point (see ferkit._faults)."""
    environ = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", **env}
    environ.pop(_faults.ENV, None)
    if kill_at:
        environ[_faults.ENV] = kill_at
    return subprocess.Popen(command, cwd=cwd, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def run(command: list[str], cwd: Path, kill_at: str | None = None, timeout: float = 240) -> str:
    """Run ``command`` to its end and return its output: killed at ``kill_at`` when given
    (the test fails when the process finished without reaching it), else exit 0."""
    process = start(command, cwd, kill_at)
    try:
        output = process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"{command} still running after {timeout} s:\n"
                             f"{process.communicate()[0][-3000:]}")
    expected = KILLED if kill_at else 0
    assert process.returncode == expected, (
        f"{' '.join(command[2:])} with kill point {kill_at!r} exited {process.returncode}, "
        f"expected {expected}:\n{output[-4000:]}")
    return output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- checks
def is_temporary(path: Path) -> bool:
    """A write's temporary copy (hidden, ``*.tmp``, ``*.partial``), never read by ferkit."""
    return path.name.startswith(".") or path.suffix in (".tmp", ".partial")


def assert_every_file_whole(folder: Path) -> int:
    """Every JSON, YAML and CSV file under ``folder`` parses and every ``.keras`` model loads
    (at least one of each of JSON, CSV and, where ``model.keras`` files are, models); returns
    how many files were checked."""
    import keras

    import ferkit.layers  # noqa: F401  (registers ferkit's layers for loading)

    checked: dict[str, int] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or is_temporary(path):
            continue
        try:
            if path.suffix == ".json":
                json.loads(path.read_text())
            elif path.suffix in (".yaml", ".yml"):
                yaml.safe_load(path.read_text())
            elif path.suffix == ".csv":
                pd.read_csv(path)
            elif path.suffix == ".keras":
                keras.saving.load_model(path, compile=False)
            else:
                continue
        except Exception as err:  # noqa: BLE001 (any failure is the finding)
            raise AssertionError(f"{path} is corrupt after the kills: "
                                 f"{type(err).__name__}: {err}") from None
        checked[path.suffix] = checked.get(path.suffix, 0) + 1
    assert checked.get(".json") and checked.get(".csv"), f"too little was checked: {checked}"
    return sum(checked.values())


def committed_at(run_dir: Path) -> int:
    """When ``run_dir``'s ``run.json`` was last written (it must exist)."""
    record = run_dir / "run.json"
    assert record.is_file(), f"{run_dir} is not committed"
    return record.stat().st_mtime_ns


# --------------------------------------------------------------------------- the fault points
def test_a_fault_point_kills_only_at_its_nth_event(tmp_path):
    script = ("from ferkit import _faults\n"
              "for i in range(1, 6):\n"
              "    _faults.reached('batch'); _faults.reached('epoch')\n"
              "    print(i, flush=True)\n")
    process = start([sys.executable, "-c", script], tmp_path, kill_at="epoch:3")
    output = process.communicate(timeout=60)[0]
    assert process.returncode == KILLED and output.split() == ["1", "2"], output
    untouched = start([sys.executable, "-c", script], tmp_path)
    assert untouched.communicate(timeout=60)[0].split() == ["1", "2", "3", "4", "5"]


def test_a_write_fault_point_leaves_the_old_file_whole(tmp_path):
    target = tmp_path / "run.json"
    target.write_text('{"old": true}')
    script = ("from ferkit import _faults\n_faults.install()\n"
              "from ferkit.runs import write_json_atomic\n"
              f"write_json_atomic({str(target)!r}, {{'new': True}})\n")
    process = start([sys.executable, "-c", script], tmp_path, kill_at="write:run.json:1")
    process.communicate(timeout=60)
    assert process.returncode == KILLED
    assert json.loads(target.read_text()) == {"old": True}


def test_a_malformed_kill_point_says_what_is_expected(monkeypatch):
    monkeypatch.setenv(_faults.ENV, "run.json")
    with pytest.raises(ValueError, match=r"<event>:<n>"):
        _faults.target()


# --------------------------------------------------------------------------- resume helpers
def _oracle(project: Path):
    import keras_tuner

    oracle = keras_tuner.oracles.RandomSearchOracle(
        objective=keras_tuner.Objective("score", "max"), max_trials=5, seed=0)
    oracle.hyperparameters.Int("units", 1, 100)
    oracle._set_project_dir(str(project), "search")
    return oracle


def test_a_restarted_chief_leaves_running_trials_with_their_workers(tmp_path):
    from ferkit.tuning.resume import resume_trials_once

    running = _oracle(tmp_path).create_trial("tuner1")  # then the chief dies
    again = resume_trials_once(_oracle(tmp_path), keep_assignments=True)
    again.reload()
    assert again.create_trial("tuner0").trial_id != running.trial_id, "a second worker got it"
    assert again.create_trial("tuner1").trial_id == running.trial_id, "its worker lost it"
    again.update_trial(running.trial_id, {"score": 0.5})
    running.status = "COMPLETED"
    again.end_trial(running)  # the live worker ends it: the restarted chief knows the trial
    assert running.trial_id in again.end_order


def test_a_trial_saved_but_never_started_is_forgotten_and_its_id_reused(tmp_path, monkeypatch):
    from ferkit.tuning.resume import resume_trials_once

    first = _oracle(tmp_path)
    first.create_trial("tuner0")

    def killed():  # the chief dies between the new trial's trial.json and oracle.json
        raise KeyboardInterrupt

    monkeypatch.setattr(first, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        first.create_trial("tuner1")
    assert (tmp_path / "search" / "trial_1" / "trial.json").is_file()
    again = resume_trials_once(_oracle(tmp_path), keep_assignments=True)
    again.reload()
    assert sorted(again.trials) == ["0"], "a trial the oracle never started is still listed"
    assert again.create_trial("tuner1").trial_id == "1"


def test_a_trial_end_sent_again_to_a_restarted_chief_counts_once(tmp_path):
    import keras_tuner

    from ferkit.tuning.resume import resume_trials_once

    oracle = resume_trials_once(_oracle(tmp_path), keep_assignments=True)
    trial = oracle.create_trial("tuner0")
    oracle.update_trial(trial.trial_id, {"score": 0.5})
    trial.status = keras_tuner.engine.trial.TrialStatus.COMPLETED
    oracle.end_trial(trial)
    oracle.end_trial(trial)  # the worker's first request was cut, so it sends it again
    assert oracle.end_order == [trial.trial_id] and not oracle.ongoing_trials


def test_a_reloaded_grid_search_goes_on_to_the_points_not_tried(tmp_path):
    import keras_tuner

    from ferkit.tuning.resume import resume_trials_once

    def grid():
        oracle = keras_tuner.oracles.GridSearchOracle(
            objective=keras_tuner.Objective("score", "min"), seed=0)
        oracle.hyperparameters.Choice("filters", [4, 8])
        oracle.hyperparameters.Choice("rate", [1, 3])
        oracle._set_project_dir(str(tmp_path), "search")
        return oracle

    def run_trials(oracle, count=None):
        while count is None or count > 0:
            trial = oracle.create_trial("tuner0")
            if trial.status != "RUNNING":
                return
            oracle.update_trial(trial.trial_id, {"score": 1.0})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
            count = None if count is None else count - 1

    run_trials(grid(), count=2)  # then the search is killed
    again = resume_trials_once(grid())
    again.reload()
    run_trials(again)
    points = sorted(tuple(t.hyperparameters.values.values()) for t in again.trials.values())
    assert points == [(4, 1), (4, 3), (8, 1), (8, 3)], f"each grid point once, got {points}"


def test_a_resumed_search_never_runs_an_ended_trial_again(tmp_path):
    import keras_tuner

    from ferkit.tuning.resume import resume_trials_once

    first = _oracle(tmp_path)
    trial = first.create_trial("tuner0")
    first.update_trial(trial.trial_id, {"score": 0.5})
    trial.status = keras_tuner.engine.trial.TrialStatus.COMPLETED
    first.end_trial(trial)  # saved as still running: KerasTuner saves before it lets go
    again = resume_trials_once(_oracle(tmp_path))
    again.reload()
    assert again.create_trial("tuner0").trial_id != trial.trial_id, "an ended trial ran again"


def test_a_log_row_cut_short_by_a_kill_is_dropped_before_appending(tmp_path):
    from ferkit.training.fit import drop_partial_last_line

    log = tmp_path / "training_log.csv"
    log.write_text("epoch,loss\n0,1.5\n1,1.2")
    assert drop_partial_last_line(log) and log.read_text() == "epoch,loss\n0,1.5\n"
    assert not drop_partial_last_line(log) and log.read_text() == "epoch,loss\n0,1.5\n"


# --------------------------------------------------------------------------- the long jobs
@pytest.mark.slow
def test_train_killed_mid_checkpoint_and_mid_epoch_finishes_once(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text(TRAIN)
    out = tmp_path / "run"
    command = ferkit("train", "--config", str(config), "--out", str(out))
    run(command, tmp_path, kill_at="write:model.keras:1")  # saving epoch 1's checkpoint
    assert not (out / "model.keras").exists(), "a checkpoint replaced before it was complete"
    run(command, tmp_path, kill_at="batch:7")  # in epoch 2, after epoch 1's backup
    assert (out / "backup").is_dir() and not (out / "run.json").exists()
    run(command, tmp_path)

    record = json.loads((out / "run.json").read_text())
    assert record["epochs_run"] == 3 and not (out / "backup").exists()
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 3
    logged = pd.read_csv(out / "training_log.csv")
    assert set(logged["epoch"]) == {0, 1, 2}
    assert_every_file_whole(out)
    assert_scores_are_the_checkpoints(out)


def assert_scores_are_the_checkpoints(out: Path) -> None:
    """``predictions.csv`` is what the saved ``model.keras`` predicts: the resumed run scored
    the best checkpoint, not the weights its last session ended with."""
    import keras
    import numpy as np

    from ferkit.config import load_config
    from ferkit.data.sources import load_from_config
    from ferkit.evaluation.evaluate import evaluate_model
    from ferkit.workflows.experiment import assign_splits

    config = load_config(out / "config.yaml")
    samples = assign_splits(load_from_config(config.data, out, config.seed), config.split,
                            config.seed)
    evaluation = evaluate_model(keras.saving.load_model(out / "model.keras"),
                                samples.split("test"))
    scored = pd.read_csv(out / "predictions.csv")
    np.testing.assert_array_equal(evaluation.predictions["predicted"], scored["predicted"])


@pytest.mark.slow
def test_kfold_killed_while_backing_up_a_fold_trains_no_finished_fold_again(tmp_path):
    config = tmp_path / "kfold.yaml"
    config.write_text(TRAIN.replace("epochs: 3", "epochs: 2"))
    out = tmp_path / "kfold"
    command = ferkit("kfold", "--config", str(config), "--out", str(out), "--folds", "2")
    # backups 1 and 2 are fold 1's epochs; the 3rd is fold 2's first, cut before its rename
    run(command, tmp_path, kill_at="write:training_metadata.json:3")
    first = committed_at(out / "fold_01")
    assert not (out / "fold_02" / "run.json").exists()
    output = run(command, tmp_path)

    assert "fold 1/2: read back" in output and "fold 1/2: training" not in output
    assert committed_at(out / "fold_01") == first, "the finished fold was trained again"
    table = pd.read_csv(out / "kfold.csv")
    assert [str(f) for f in table["fold"]] == ["1", "2", "mean", "std"]
    assert sorted(p.name for p in out.glob("fold_*")) == ["fold_01", "fold_02"]
    predictions = pd.read_csv(out / "oof_predictions.csv")
    assert predictions["path"].is_unique, "an image scored twice"
    assert_every_file_whole(out)


@pytest.mark.slow
def test_seed002_grid_killed_at_a_commit_retrains_only_that_model(tmp_path):
    out = tmp_path / "grid"
    command = [sys.executable, str(ROOT / "examples" / "seed002_grid.py"), *GRID_FAST,
               "--out", str(out)]
    run(command, tmp_path, kill_at="write:run.json:2")  # model 2 trained, not yet committed
    first = committed_at(out / GRID_MODELS[0])
    assert not (out / GRID_MODELS[1] / "run.json").exists()
    output = run(command, tmp_path)

    assert f"{GRID_MODELS[0]}: finished earlier, read back" in output
    assert f"training {GRID_MODELS[0]}" not in output and f"training {GRID_MODELS[1]}" in output
    assert committed_at(out / GRID_MODELS[0]) == first, "the finished model was trained again"
    table = pd.read_csv(out / "grid.csv")
    assert list(table["model"]) == GRID_MODELS
    assert_every_file_whole(out)


@pytest.mark.slow
def test_tune_with_a_chief_and_a_worker_killed_finishes_every_trial_once(tmp_path):
    config = tmp_path / "tune.yaml"
    config.write_text(TUNE)
    out = tmp_path / "tune"
    command = ferkit("tune", "--config", str(config), "--out", str(out), "--quiet")
    oracle = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    # the chief dies creating the second trial (its trial.json written, the oracle's state
    # not yet), cutting that worker's request; worker tuner1 dies in its first trial's training
    kill_at = {"chief": "write:oracle.json:3", "tuner0": None, "tuner1": "batch:2"}
    processes = {tuner_id: start(command, tmp_path, point, KERASTUNER_TUNER_ID=tuner_id, **oracle)
                 for tuner_id, point in kill_at.items()}
    outputs = supervise(processes, kill_at, command, tmp_path, oracle, timeout=300)

    table = pd.read_csv(out / "trials.csv", dtype={"trial": str})
    points = sorted(zip(table["filters"], table["learning_rate"].round(6)))
    assert points == sorted(GRID_POINTS), f"every grid point exactly once, got {points}"
    assert set(table["status"]) == {"COMPLETED"} and table["trial"].is_unique
    state = json.loads((out / "search" / "oracle.json").read_text())
    assert sorted(state["end_order"]) == sorted(table["trial"]), "a trial ended twice or never"
    assert set(state["ongoing_trials"].values()) <= set(state["end_order"]), "a trial unfinished"
    assert "tuner1" in set(table["tuner"]), "the restarted worker did not finish its trial"
    assert (out / "run.json").is_file() and "best" in outputs["chief"].lower()
    assert_every_file_whole(out)


def supervise(processes: dict[str, subprocess.Popen], kill_at: dict[str, str | None],
              command: list[str], cwd: Path, env: dict, timeout: float) -> dict[str, str]:
    """Wait for a distributed search: each process killed at its fault point is started once
    more, unarmed, with the same tuner id; every one must end with exit code 0. Returns each
    one's last output."""
    deadline, outputs, restarted = time.monotonic() + timeout, {}, set()
    try:
        while len(outputs) < len(processes):
            if time.monotonic() > deadline:
                raise AssertionError(f"the search was still running after {timeout} s")
            for tuner_id, process in processes.items():
                if tuner_id in outputs or process.poll() is None:
                    continue
                output = process.communicate()[0]
                if process.returncode == KILLED and kill_at[tuner_id] and tuner_id not in restarted:
                    restarted.add(tuner_id)
                    processes[tuner_id] = start(command, cwd, KERASTUNER_TUNER_ID=tuner_id, **env)
                    continue
                assert process.returncode == 0, (f"{tuner_id} exited {process.returncode}:\n"
                                                 f"{output[-4000:]}")
                outputs[tuner_id] = output
            time.sleep(0.2)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert restarted == {t for t, point in kill_at.items() if point}, (
        f"expected kills of {sorted(t for t, p in kill_at.items() if p)}, restarted {restarted}")
    return outputs


@pytest.mark.parametrize("cut_at", [1, 2])
def test_an_epoch_backup_cut_at_any_rename_restores_weights_of_the_epoch_it_names(tmp_path,
                                                                                  monkeypatch,
                                                                                  cut_at):
    import keras
    import numpy as np

    from ferkit.training.fit import AtomicBackupAndRestore

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    backup = AtomicBackupAndRestore(str(tmp_path / "backup"))
    backup.set_model(model)
    backup.on_epoch_end(0)
    weights = {1: [np.array(w) for w in model.get_weights()]}
    model.set_weights([w + 1 for w in weights[1]])
    weights[2] = [np.array(w) for w in model.get_weights()]

    replace, calls = os.replace, []

    def dies_at_the_nth_rename(*args):  # the process dies at rename number cut_at
        calls.append(args)
        if len(calls) == cut_at:
            raise KeyboardInterrupt
        return replace(*args)

    monkeypatch.setattr(os, "replace", dies_at_the_nth_rename)
    try:
        backup.on_epoch_end(1)
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    model.set_weights([w * 0 for w in weights[1]])
    restored = AtomicBackupAndRestore(str(tmp_path / "backup"))
    restored.set_model(model)
    restored.on_train_begin()
    epoch = model._initial_epoch
    assert epoch in weights
    for now, then in zip(model.get_weights(), weights[epoch]):
        np.testing.assert_array_equal(now, then, err_msg=f"weights not those of epoch {epoch}")


def test_a_worker_sends_a_request_again_while_the_chief_is_down():
    import grpc

    from ferkit.tuning.resume import retry_while_the_chief_restarts

    class Unavailable(grpc.RpcError):
        def code(self):
            return grpc.StatusCode.UNAVAILABLE

    class Stub:
        """A chief that is down for the first ``down`` requests."""

        def __init__(self, down: int):
            self.down, self.calls = down, 0

        def EndTrial(self, request, **_):
            self.calls += 1
            if self.calls <= self.down:
                raise Unavailable()
            return f"ended {request}"

    def worker(stub, retries):
        tuner = type("Tuner", (), {})()
        tuner.oracle = type("OracleClient", (), {})()
        tuner.oracle.stub = stub
        return retry_while_the_chief_restarts(tuner, retries=retries, pause=0.0)

    stub = Stub(down=2)
    assert worker(stub, retries=5).oracle.stub.EndTrial("3") == "ended 3" and stub.calls == 3
    with pytest.raises(Unavailable):  # down for longer than the worker waits
        worker(Stub(down=3), retries=2).oracle.stub.EndTrial("3")


def test_a_resumed_fit_that_beats_no_earlier_epoch_returns_the_saved_best(tmp_path):
    import keras
    import numpy as np
    import tensorflow as tf

    from ferkit.training.fit import fit

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, x @ np.ones((3, 1), "float32"))).batch(16)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    fit(model, data, data, tmp_path, epochs=3, verbose=0)
    # the run is started again (say its commit was cut) and every new epoch is worse
    model.compile(optimizer=keras.optimizers.SGD(5.0), loss="mse")
    fit(model, data, data, tmp_path, epochs=2, verbose=0)
    saved = keras.saving.load_model(tmp_path / "model.keras")
    for ours, best in zip(model.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(ours, best, err_msg="the returned model is not the best one")
