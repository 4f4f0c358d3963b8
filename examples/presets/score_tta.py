"""Pick a finished run's test-time augmentation on its validation split, then score test once.

    python examples/presets/score_tta.py --run runs/fer2013 --data path/to/fer2013

Rebuilds the run's data and split from its ``config.yaml`` (and checks that the split is row
for row the one in its ``splits.csv``), scores the TTA candidates of
``examples/benchmarks/fer2013_recipe.py`` (none, flip, flip + 2 px shifts, the recipe's 14
views) on ``val``, picks the best there (a tie goes to fewer views) and reports the test
split for the pick, with de-duplicated figures where the run has them. The test figures of
the other candidates are printed for information only. Writes ``tta_selection.json`` into
the run directory.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ferkit.config import load_config
from ferkit.evaluation.evaluate import evaluate_model
from ferkit.models.loading import load_run_model
from ferkit.runs import RunDir, write_json_atomic
from ferkit.workflows.experiment import prepare_data

RECIPE_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fer2013_recipe.py"
OUTPUT = "tta_selection.json"


def _recipe_module():
    spec = importlib.util.spec_from_file_location("fer2013_recipe", RECIPE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rebuilt_samples(run_dir: Path, data: str | None, scratch: Path, config_path: Path | None):
    """The run's samples and split, rebuilt from its config (or ``config_path``) and checked
    against its splits.csv."""
    overrides = [f"data.path={data}"] if data else []
    config = load_config(config_path or run_dir / RunDir.CONFIG, overrides)
    samples = prepare_data(config, scratch)
    recorded = pd.read_csv(run_dir / RunDir.SPLITS, usecols=["split"])["split"].to_numpy()
    if len(recorded) != len(samples.frame) or not np.array_equal(
            recorded, samples.frame["split"].to_numpy()):
        raise SystemExit(f"{run_dir}: the rebuilt split differs from {RunDir.SPLITS}; "
                         "pass the --data the run was trained on")
    return samples


def select_and_score(run_dir: Path, data: str | None, config_path: Path | None = None) -> dict:
    recipe = _recipe_module()
    samples = rebuilt_samples(run_dir, data, run_dir / "tta_scratch", config_path)
    model = load_run_model(run_dir)
    on_val = {suffix: evaluate_model(model, samples.split("val"), **tta).summary
              for suffix, tta in recipe.CANDIDATES.items()}
    on_test = {suffix: evaluate_model(model, samples.split("test"), **tta).summary
               for suffix, tta in recipe.CANDIDATES.items()}
    picked = recipe.pick_on_validation(on_val)
    return {"run": str(run_dir), "picked_tta": recipe.candidate_label(picked),
            "picked_views": recipe.view_count(recipe.CANDIDATES[picked]),
            **recipe.picked_figures(on_test[picked]),
            **recipe.candidate_figures(on_val, on_test)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, type=Path, help="finished run directory")
    parser.add_argument("--data", help="the dataset path the run was trained on")
    parser.add_argument("--config", type=Path,
                        help="config that rebuilds the split (default: the run's config.yaml)")
    args = parser.parse_args(argv)
    results = select_and_score(args.run, args.data, args.config)
    write_json_atomic(args.run / OUTPUT, results)
    json.dump(results, sys.stdout, indent=1)
    print()
    return results


if __name__ == "__main__":
    main()
