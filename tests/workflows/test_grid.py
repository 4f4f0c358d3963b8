import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ferkit.config import config_from_dict
from ferkit.workflows.grid import run_grid

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_grid_trains_each_model_once_and_resumes(tmp_path, ckplus_48):
    config = config_from_dict({"data": {"path": str(ckplus_48), "min_au_count": 2},
                               "train": {"epochs": 1, "jit_compile": False, "verbose": 0}})
    names = ["seed001_variant2", "seed001_variant1"]
    table = run_grid(config, names, tmp_path)
    assert list(table.index) == names and (table["accuracy"].between(0, 1)).all()
    assert table.loc["seed001_variant1", "parameters"] != table.loc["seed001_variant2", "parameters"]
    stamp = os.path.getmtime(tmp_path / "seed001_variant2" / "model.keras")
    again = run_grid(config, names, tmp_path)
    assert os.path.getmtime(tmp_path / "seed001_variant2" / "model.keras") == stamp
    pd.testing.assert_frame_equal(again, table)
    assert (tmp_path / "grid.csv").is_file() and (tmp_path / "plots" / "grid_scores.png").is_file()
    with pytest.raises(ValueError, match="at least one model"):
        run_grid(config, [], tmp_path)


@pytest.mark.slow
def test_seed002_grid_example_runs_fast(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "seed002_grid.py"), "--fast",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    table = pd.read_csv(tmp_path / "grid.csv", index_col="model")
    assert list(table.index) == ["B16_N4_FC1_K3", "B32_N4_FC1_K3"]
