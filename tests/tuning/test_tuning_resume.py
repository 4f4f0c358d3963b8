"""A search killed after its first trial resumes without repeating it (examples/tune_ckplus.py)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tune_ckplus.py"


def _command(out: Path) -> list[str]:
    return [sys.executable, str(EXAMPLE), "--fast", "--out", str(out)]


def _finished_trials(out: Path) -> list[str]:
    """Trial ids the oracle has durably ended (its saved ``end_order``)."""
    oracle = out / "search" / "oracle.json"
    if not oracle.is_file():
        return []
    try:
        return json.loads(oracle.read_text())["end_order"]
    except (json.JSONDecodeError, KeyError):  # caught mid-write
        return []


def _kill_after_first_trial(out: Path, timeout: float = 180) -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(_command(out), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    try:
        while not _finished_trials(out):
            if process.poll() is not None:
                raise AssertionError(f"the search ended before it was killed:\n{process.stdout.read()}")
            if time.monotonic() > deadline:
                raise AssertionError("no trial finished in time")
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()


@pytest.mark.slow
def test_killed_search_resumes_without_repeating_finished_trials(tmp_path):
    out = tmp_path / "tune"
    _kill_after_first_trial(out)
    assert _finished_trials(out) == ["0"]
    first = (out / "search" / "trial_0" / "ferkit_trial.json").read_text()

    rerun = subprocess.run(_command(out), cwd=ROOT, capture_output=True, text=True, timeout=240,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Reloading Tuner" in rerun.stdout
    assert "trial 0 fold" not in rerun.stdout and "trial 1 fold 2/2" in rerun.stdout
    assert (out / "search" / "trial_0" / "ferkit_trial.json").read_text() == first
    assert _finished_trials(out) == ["0", "1"]  # each trial ended exactly once
    table = pd.read_csv(out / "trials.csv", dtype={"trial": str})
    assert list(table["trial"]) == ["0", "1"] and set(table["status"]) == {"COMPLETED"}
    records = [json.loads((out / "search" / f"trial_{t}" / "ferkit_trial.json").read_text())
               for t in ("0", "1")]
    assert records[0]["pid"] != records[1]["pid"]  # trial 1 ran in the resumed process


def test_keras_tuner_state_is_written_atomically(tmp_path, monkeypatch):
    from keras_tuner.src import utils as kt_utils

    import ferkit.tuning.tuner  # noqa: F401  (installs the atomic writer)

    state = tmp_path / "oracle.json"
    kt_utils.save_json(str(state), {"end_order": ["0"]})
    assert json.loads(state.read_text()) == {"end_order": ["0"]}

    def killed(*_):  # the process dies before the new file replaces the old one
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    try:
        kt_utils.save_json(str(state), {"end_order": ["0", "1"]})
    except KeyboardInterrupt:
        pass
    assert json.loads(state.read_text()) == {"end_order": ["0"]}, "the old state must survive"


def test_an_empty_tuner_state_file_is_repaired_for_resuming(tmp_path):
    from ferkit.tuning.tuner import repair_tuner_state

    (tmp_path / "tuner0.json").write_text("")
    (tmp_path / "tuner1.json").write_text("{}")
    (tmp_path / "oracle.json").write_text("")  # not ours to guess: left alone
    assert repair_tuner_state(tmp_path) == [tmp_path / "tuner0.json"]
    assert json.loads((tmp_path / "tuner0.json").read_text()) == {}
    assert (tmp_path / "oracle.json").read_text() == ""
