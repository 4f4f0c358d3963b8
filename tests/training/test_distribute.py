"""Distribution strategies by name, the TF_CONFIG checks, and who writes a multi-worker run."""
import json
import logging
import os
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from ferkit.config import ConfigError, config_from_dict
from ferkit.training.distribute import STRATEGIES, make_strategy, read_tf_config, worker_role

TWO_WORKERS = {"cluster": {"worker": ["localhost:1111", "localhost:2222"]},
               "task": {"type": "worker", "index": 1}}


# --------------------------------------------------------------------------- make_strategy
def test_default_strategy_is_tensorflows_own():
    strategy = make_strategy("default")
    assert strategy is tf.distribute.get_strategy() and strategy.num_replicas_in_sync == 1


def test_mirrored_strategy_uses_the_gpus_or_says_it_runs_on_one_cpu_replica(caplog):
    with caplog.at_level(logging.INFO, logger="ferkit.training.distribute"):
        strategy = make_strategy("mirrored")
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    gpus = tf.config.list_logical_devices("GPU")
    assert strategy.num_replicas_in_sync == max(len(gpus), 1)
    expected = f"over {len(gpus)} GPU(s)" if gpus else "no GPU on this host, training on one CPU"
    assert expected in caplog.text


def test_an_unknown_strategy_lists_the_valid_names():
    with pytest.raises(ConfigError, match=r"unknown distribution strategy 'tpu'; choose one of "
                                          r"\['default', 'mirrored', 'multi_worker'\]"):
        make_strategy("tpu")


def test_train_strategy_is_checked_when_the_config_is_read():
    assert config_from_dict({}).train.strategy == "default"
    assert config_from_dict({"train": {"strategy": "mirrored"}}).train.strategy == "mirrored"
    with pytest.raises(ConfigError, match=r"config: train.strategy 'gpu' is not one of "
                                          r"\['default', 'mirrored', 'multi_worker'\]"):
        config_from_dict({"train": {"strategy": "gpu"}})
    assert STRATEGIES == ("default", "mirrored", "multi_worker")


def test_multi_worker_without_tf_config_says_what_is_missing(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="'multi_worker' needs the TF_CONFIG environment "
                                          "variable .* which is not set"):
        make_strategy("multi_worker")


@pytest.mark.parametrize("raw, message", [
    ("{cluster: 1}", "TF_CONFIG is not valid JSON"),
    (json.dumps({"task": {"type": "worker", "index": 0}}), "TF_CONFIG has no 'cluster' mapping"),
    (json.dumps({**TWO_WORKERS, "cluster": {"worker": ["localhost"]}}),
     r"cluster\['worker'\] must be a non-empty list of 'host:port' strings"),
    (json.dumps({"cluster": TWO_WORKERS["cluster"]}), "TF_CONFIG has no 'task' with 'type' and 'index'"),
    (json.dumps({**TWO_WORKERS, "task": {"type": "chief", "index": 0}}),
     r"task type 'chief' is not in the cluster \(\['worker'\]\)"),
    (json.dumps({**TWO_WORKERS, "task": {"type": "worker", "index": 2}}),
     r"task index 2 is out of range: cluster\['worker'\] has 2 member\(s\)"),
])
def test_a_malformed_tf_config_names_the_problem(raw, message):
    with pytest.raises(ConfigError, match=message):
        read_tf_config({"TF_CONFIG": raw})


def test_a_valid_tf_config_is_returned_parsed():
    assert read_tf_config({"TF_CONFIG": json.dumps(TWO_WORKERS)}) == TWO_WORKERS


# --------------------------------------------------------------------------- worker_role
def _with_resolver(cluster: dict, kind: str, index: int):
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=kind, task_id=index)
    return types.SimpleNamespace(cluster_resolver=resolver)


def test_worker_zero_is_the_chief_unless_the_cluster_names_one():
    workers = {"worker": ["a:1", "b:2"]}
    assert worker_role(_with_resolver(workers, "worker", 0)) == (True, "worker_0")
    assert worker_role(_with_resolver(workers, "worker", 1)) == (False, "worker_1")
    with_chief = {"chief": ["c:0"], **workers}
    assert worker_role(_with_resolver(with_chief, "chief", 0)) == (True, "chief_0")
    assert worker_role(_with_resolver(with_chief, "worker", 0)) == (False, "worker_0")
    assert worker_role(make_strategy("default")) == (True, "chief")


def test_tune_refuses_multi_worker_and_points_to_keras_tuner_workers():
    from ferkit.workflows.search import trial_strategy

    assert trial_strategy("default") is None
    assert isinstance(trial_strategy("mirrored"), tf.distribute.MirroredStrategy)
    with pytest.raises(ConfigError, match="does not take train.strategy 'multi_worker'.*"
                                          "KERASTUNER_TUNER_ID"):
        trial_strategy("multi_worker")


def test_cli_strategy_flag_overrides_the_config_and_is_checked(tmp_path, capsys):
    from ferkit.cli import main

    config = tmp_path / "c.yaml"
    config.write_text("name: c\n")
    assert main(["train", "--config", str(config), "--strategy", "ring"]) == 2
    assert "train.strategy 'ring' is not one of" in capsys.readouterr().err
    assert main(["tune", "--config", str(config), "--strategy", "multi_worker",
                 "--out", str(tmp_path / "t")]) == 2
    assert "does not take train.strategy 'multi_worker'" in capsys.readouterr().err


# --------------------------------------------------------------------------- two workers
#: Data and model shared by the training and the search tests.
TINY_COMMON = """
seed: 0
data:
  source: folders
  classes: [happy, neutral, surprised]
  image_size: [24, 24]
  synthetic: {images: 120, classes: {happy: happy, neutral: neutral, surprised: surprise}}
augment: null
model: {name: seed001_variant2, args: {filters: [4], dropout: 0.0}}
"""
TINY_TRAIN = TINY_COMMON + """
name: tiny_distributed
split: {method: stratified, fractions: [0.6, 0.2, 0.2]}
train: {epochs: 2, batch_size: 16, patience: 5, jit_compile: false, deterministic: true,
        verbose: 0}
"""


def free_ports(count: int) -> list[int]:
    """Ports free on the loopback interface right now (held open together, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start(command: list[str], cwd: Path, **env) -> subprocess.Popen:
    environ = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", **env}
    return subprocess.Popen(command, cwd=cwd, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(processes: dict[str, subprocess.Popen], timeout: float) -> dict[str, str]:
    """Wait for every process (killing all on a hang) and return each one's output."""
    deadline, outputs = time.monotonic() + timeout, {}
    try:
        for name, process in processes.items():
            outputs[name] = process.communicate(timeout=max(1.0, deadline - time.monotonic()))[0]
    except subprocess.TimeoutExpired:
        for process in processes.values():
            process.kill()
        tails = {n: (p.communicate()[0] or "")[-2000:] for n, p in processes.items()}
        raise AssertionError(f"distributed processes still running after {timeout} s: {tails}")
    for name, process in processes.items():
        assert process.returncode == 0, f"{name} exited {process.returncode}:\n{outputs[name][-4000:]}"
    return outputs


def _trainable(path: Path) -> np.ndarray:
    model = keras.saving.load_model(path)
    return np.concatenate([np.ravel(w) for w in model.trainable_weights])


@pytest.mark.slow
def test_two_multi_worker_processes_train_like_one_process(tmp_path):
    from ferkit.config import load_config
    from ferkit.workflows import run_experiment

    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(TINY_TRAIN)
    hosts = [f"127.0.0.1:{port}" for port in free_ports(2)]
    command = [sys.executable, "-m", "ferkit.cli", "train", "--config", str(config_path),
               "--out", str(tmp_path / "distributed"), "--strategy", "multi_worker"]
    workers = {f"worker {index}": start(command, tmp_path, TF_CONFIG=json.dumps(
        {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}))
        for index in range(2)}
    single = run_experiment(load_config(config_path), tmp_path / "single")  # meanwhile
    finish(workers, timeout=150)

    chief, other = tmp_path / "distributed", tmp_path / "distributed" / "workers" / "worker_1"
    info = json.loads((chief / "run.json").read_text())
    assert info["replicas"] == 2 and json.loads((tmp_path / "single" / "run.json").read_text())[
        "replicas"] == 1
    assert (other / "run.json").is_file() and not (other / "workers").exists()
    # in step: the same synchronised weights and logs on both workers
    assert np.array_equal(_trainable(chief / "model.keras"), _trainable(other / "model.keras"))
    history = json.loads((chief / "history.json").read_text())
    assert history == json.loads((other / "history.json").read_text())
    # like one process with the same global batch; batch-norm statistics are per replica (half
    # batches), so the numbers agree within a tolerance, not exactly
    assert len(history["loss"]) == len(single.history["loss"]) == 2
    np.testing.assert_allclose(history["val_loss"], single.history["val_loss"], atol=0.03)
    np.testing.assert_allclose(history["loss"], single.history["loss"], atol=0.1)
    ours, theirs = _trainable(chief / "model.keras"), _trainable(tmp_path / "single" / "model.keras")
    assert np.linalg.norm(ours - theirs) / np.linalg.norm(theirs) < 0.06
    metrics = json.loads((chief / "metrics.json").read_text())
    assert abs(metrics["emotion_accuracy"] - single.evaluation.summary["emotion_accuracy"]) <= 0.15


# --------------------------------------------------------------------------- distributed search
TINY_TUNE = TINY_COMMON + """
name: tiny_distributed_tune
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
GRID = {(4, 0.001), (4, 0.003), (8, 0.001), (8, 0.003)}


@pytest.mark.slow
def test_a_chief_and_two_workers_search_the_grid_once_like_one_process(tmp_path):
    from ferkit.config import load_config
    from ferkit.workflows import run_search

    config_path = tmp_path / "tune.yaml"
    config_path.write_text(TINY_TUNE)
    out = tmp_path / "distributed"
    command = [sys.executable, "-m", "ferkit.cli", "tune", "--config", str(config_path),
               "--out", str(out), "--quiet"]
    oracle = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_ports(1)[0])}
    processes = {tuner_id: start(command, tmp_path, KERASTUNER_TUNER_ID=tuner_id, **oracle)
                 for tuner_id in ("chief", "tuner0", "tuner1")}
    single = run_search(load_config(config_path), tmp_path / "single", verbose=0)  # meanwhile
    outputs = finish(processes, timeout=170)

    table = pd.read_csv(out / "trials.csv", dtype={"trial": str})
    points = list(zip(table["filters"], table["learning_rate"].round(6)))
    assert sorted(points) == sorted(GRID), f"every grid point exactly once, got {points}"
    assert set(table["status"]) == {"COMPLETED"}
    records = [json.loads((out / "search" / f"trial_{t}" / "ferkit_trial.json").read_text())
               for t in table["trial"]]
    ran = {record["tuner_id"] for record in records}
    assert ran == {"tuner0", "tuner1"}, f"both workers should run trials, ran: {ran}"
    assert set(table["tuner"]) == ran and len({record["pid"] for record in records}) == 2
    for tuner_id in ("tuner0", "tuner1"):
        assert "the chief writes" in outputs[tuner_id]
    # the same trials score the same in one process (each fold is seeded)
    assert (out / "best.json").is_file() and (out / "best_config.yaml").is_file()
    best = json.loads((out / "best.json").read_text())
    assert np.isclose(best["mean"], single.best["mean"], atol=1e-3), (best, single.best)
    ours = table.set_index(["filters", table["learning_rate"].round(6)])["mean"].sort_index()
    theirs = single.table.set_index(["filters", single.table["learning_rate"].round(6)])["mean"]
    np.testing.assert_allclose(ours.to_numpy(), theirs.sort_index().to_numpy(), atol=1e-3)
