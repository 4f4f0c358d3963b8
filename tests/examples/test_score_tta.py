"""examples/presets/score_tta.py: TTA picked on val for a finished run, test scored once."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import load_script

from ferkit.config import load_config
from ferkit.runs import RunDir
from ferkit.workflows.experiment import run_experiment

ROOT = Path(__file__).resolve().parents[2]
TINY = ["data.synthetic.images=140", "train.epochs=1", "train.warmup_epochs=0",
        "train.batch_size=32", "model.args.widths=[8, 16]", "model.args.depths=[1, 1]",
        "train.verbose=0", "data.ferplus_aux=false"]


@pytest.fixture(scope="module")
def script():
    return load_script(ROOT / "examples" / "presets" / "score_tta.py", "score_tta")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    config = load_config(ROOT / "configs" / "fer2013_recipe.yaml", TINY)
    return run_experiment(config, tmp_path_factory.mktemp("run")).run_dir


@pytest.mark.slow
def test_the_pick_is_the_best_candidate_on_val_and_its_test_figures_are_reported(script,
                                                                                 run_dir):
    results = script.main(["--run", str(run_dir)])
    recipe = script._recipe_module()
    best = recipe.pick_on_validation({suffix: {"emotion_accuracy": results[f"val_accuracy{suffix}"]}
                                      for suffix in recipe.CANDIDATES})
    assert results["picked_tta"] == recipe.candidate_label(best)
    assert results["accuracy_picked"] == results[f"accuracy{best}"]
    assert json.loads((run_dir / script.OUTPUT).read_text())["picked_views"] == results["picked_views"]


@pytest.mark.slow
def test_a_split_that_differs_from_the_runs_is_refused(script, run_dir, tmp_path):
    splits = pd.read_csv(run_dir / RunDir.SPLITS)
    splits.loc[splits["split"] == "val", "split"] = "train"
    copy = tmp_path / "run"
    copy.mkdir()
    for path in run_dir.iterdir():
        if path.is_file():
            (copy / path.name).write_bytes(path.read_bytes())
    splits.to_csv(copy / RunDir.SPLITS, index=False)
    with pytest.raises(SystemExit, match="rebuilt split differs"):
        script.main(["--run", str(copy)])
