"""``run.json`` is the commit marker: a run directory holding every file but it (a run killed
before its commit) is never taken as finished by a workflow, and a committed one is reused."""
import os

import numpy as np
import pandas as pd
import pytest

from ferkit.config import config_from_dict
from ferkit.data.samples import Samples
from ferkit.runs import RunDir
from ferkit.training import engine
from ferkit.workflows import run_experiment, run_grid, run_search

TINY_MODEL = {"name": "ckplus_small", "args": {"filters": [4], "blocks": [1], "stem_filters": 4}}
TRAIN = {"epochs": 1, "jit_compile": False, "verbose": 0, "batch_size": 16}


def _kill_before_commit(run_dir) -> None:
    """What a run killed between its last result file and ``run.json`` leaves behind."""
    (RunDir(run_dir) / RunDir.RUN).unlink()


def _stamp(path) -> int:
    return os.stat(path).st_mtime_ns


@pytest.fixture(scope="module")
def grid(tmp_path_factory, ckplus_48):
    config = config_from_dict({"augment": None, "model": TINY_MODEL, "train": TRAIN,
                               "data": {"path": str(ckplus_48), "min_au_count": 2}})
    return config, tmp_path_factory.mktemp("grid")


@pytest.mark.slow
def test_a_grid_reuses_a_committed_model_and_retrains_an_uncommitted_one(grid):
    config, out = grid
    run_grid(config, ["ckplus_small"], out)
    model_dir = out / "ckplus_small"
    assert RunDir(model_dir).is_complete()
    scored = _stamp(model_dir / RunDir.METRICS)
    run_grid(config, ["ckplus_small"], out)
    assert _stamp(model_dir / RunDir.METRICS) == scored, "a committed model was trained again"
    _kill_before_commit(model_dir)
    assert (model_dir / RunDir.MODEL).is_file() and not RunDir(model_dir).is_complete()
    run_grid(config, ["ckplus_small"], out)
    assert _stamp(model_dir / RunDir.METRICS) != scored, "an uncommitted model was read back"
    assert RunDir(model_dir).is_complete()


@pytest.mark.slow
def test_rerunning_an_experiment_withdraws_its_commit_until_it_commits_again(grid, monkeypatch):
    config, out = grid
    run_dir = out / "experiment"
    run_experiment(config, run_dir)
    assert RunDir(run_dir).is_complete()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while training")

    monkeypatch.setattr(engine, "train", killed)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, run_dir)
    assert (run_dir / RunDir.METRICS).is_file(), "the old results are still there"
    assert not RunDir(run_dir).is_complete(), "a killed re-run still looks finished"
    monkeypatch.undo()
    run_experiment(config, run_dir)
    record = RunDir(run_dir).read_run()
    assert record["seconds"] > 0 and record["epochs_run"] == 1


def _samples(n_subjects: int = 6, per_subject: int = 6, size: int = 24) -> Samples:
    rng = np.random.default_rng(1)
    labels = np.tile(np.arange(3), n_subjects * per_subject // 3)
    images = rng.integers(0, 255, (len(labels), size, size), dtype=np.uint8)
    frame = pd.DataFrame({"label": labels,
                          "subject": np.repeat([f"S{i}" for i in range(n_subjects)], per_subject)})
    return Samples(frame, ("a", "b", "c"), images=images, source="tiny")


@pytest.mark.slow
def test_a_search_is_read_back_only_when_committed(tmp_path):
    config = config_from_dict({
        "augment": None, "data": {"image_size": [24, 24]},
        "model": {"name": "seed001_variant2", "args": {}}, "train": TRAIN,
        "tune": {"max_trials": 1, "folds": 2, "val_fraction": 0.3,
                 "space": {"filters": {"type": "choice", "values": [4]}}}})
    first = run_search(config, tmp_path, samples=_samples(), verbose=0)
    assert first.trials_run == ["0"] and RunDir(tmp_path).is_complete()
    written = _stamp(tmp_path / "trials.csv")
    again = run_search(config, tmp_path, samples=_samples(), verbose=0)
    assert again.trials_run == [] and _stamp(tmp_path / "trials.csv") == written
    pd.testing.assert_frame_equal(again.table, first.table)
    _kill_before_commit(tmp_path)
    resumed = run_search(config, tmp_path, samples=_samples(), verbose=0)
    assert _stamp(tmp_path / "trials.csv") != written, "an uncommitted search was read back"
    assert RunDir(tmp_path).is_complete() and len(resumed.table) == 1
