"""The main example, ``examples/ckplus_multitask.py``, run end to end in its fast mode."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_example_runs_end_to_end_in_fast_mode(tmp_path):
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "ckplus_multitask.py"), "--fast",
                           "--out", str(run)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "emotion accuracy" in done.stdout and "AU micro-F1" in done.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["emotion_accuracy"] <= 1.0 and "au_micro_f1" in metrics
    for name in ["model.keras", "history.json", "config.yaml", "splits.csv", "au_report.csv",
                 "plots/history.png", "plots/confusion_matrix.png"]:
        assert (run / name).is_file(), name
    splits = pd.read_csv(run / "splits.csv")
    assert splits.groupby("subject")["split"].nunique().max() == 1  # subject-disjoint
