"""The FER2013 recipe benchmark in its smoke mode: it trains, scores and saves a usable run."""
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import ferkit.layers  # noqa: F401  (registers ferkit's layers for load_model)

pytestmark = pytest.mark.slow  # each test trains the recipe for an epoch

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "benchmarks" / "fer2013_recipe.py"


def _run(tmp_path, *args):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout


def test_recipe_smoke_run_prints_and_saves_every_figure(tmp_path):
    out, printed = _run(tmp_path)
    results = json.loads((out / "results.json").read_text())
    assert results["model"] == "fer_recipe" and results["epochs_run"] == 1
    sizes = results["split_sizes"]
    assert sizes["train"] > 0 and sizes[results["scored_on"]] > 0
    for key in ("accuracy", "accuracy_flip_tta", "macro_f1", "macro_f1_flip_tta",
                "accuracy_shift_tta", "macro_f1_shift_tta",
                "accuracy_recipe_tta", "macro_f1_recipe_tta"):
        assert 0.0 <= results[key] <= 1.0, (key, results[key])
    for needle in ("training (+ validation in ", "accuracy, flip TTA",
                   "accuracy, flip + shift 2 px TTA (10 views)",
                   "accuracy, recipe TTA (flip + shift 2 px + zoom 1.08/1.16 TTA, 14 views)",
                   "budget"):
        assert needle in printed, printed
    # the saved model reloads for scoring elsewhere (ferkit evaluate)
    model = keras.models.load_model(out / "model.keras", compile=False)
    assert model.get_layer("stem_fold").block == 2
    assert set(model.output) == {"emotion", "ferplus"}  # the FER+ votes as a second head
    assert (out / "evaluation_flip_tta" / "metrics.json").is_file()
    assert (out / "evaluation_shift_tta" / "metrics.json").is_file()
    assert (out / "evaluation_recipe_tta" / "metrics.json").is_file()
    assert results["recipe_tta"] == "flip + shift 2 px + zoom 1.08/1.16 TTA"
    assert (out / "results.md").read_text().startswith("| figure | value |")


def test_recipe_ferplus_mode_uses_the_eight_ferplus_classes(tmp_path):
    out, _ = _run(tmp_path, "--ferplus")
    results = json.loads((out / "results.json").read_text())
    assert results["dataset"] == "ferplus"
    model = keras.models.load_model(out / "model.keras", compile=False)
    probabilities = model(np.zeros((1, 48, 48, 1), "float32"))["emotion"]
    assert probabilities.shape == (1, 8)
    np.testing.assert_allclose(float(np.sum(probabilities)), 1.0, atol=1e-5)
