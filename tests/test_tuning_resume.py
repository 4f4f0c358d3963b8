"""A search killed after its first trial resumes without repeating it (examples/tune_ckplus.py)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
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
