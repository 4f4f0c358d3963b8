"""Every shipped experiment config runs end to end, in a fast mode, on its synthetic default."""
from pathlib import Path

import pytest

from ferkit.config import load_config
from ferkit.workflows import run_experiment

CONFIGS = sorted(p for p in (Path(__file__).parents[2] / "configs").glob("*.yaml")
                 if not p.name.endswith("_rules.yaml"))
#: One epoch, so no warm-up (``warmup_epochs`` must stay below ``epochs``).
FAST = ["train.epochs=1", "train.warmup_epochs=0", "train.jit_compile=false", "train.verbose=0",
        "train.batch_size=16", "data.synthetic.images=96", "data.synthetic.subjects=8",
        "data.synthetic.sequences_per_subject=7", "data.min_au_count=2"]
#: Smaller widths for the networks that are slow at their seed size; the layout is unchanged.
SMALLER = {
    "ckplus_multitask": "model.args={filters: [8, 16, 32], stem_filters: 8}",
    "seed004_resnet": "model.args={filters: [8, 16, 32], stem_filters: 8}",
}


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_runs_on_its_synthetic_default(path, tmp_path):
    overrides = FAST + ([SMALLER[path.stem]] if path.stem in SMALLER else [])
    config = load_config(path, overrides)
    assert config.data.path is None, "shipped configs default to synthetic data"
    result = run_experiment(config, tmp_path / "run")
    assert len(result.history["loss"]) == 1
    assert (tmp_path / "run" / "metrics.json").is_file()
    assert 0.0 <= result.evaluation.summary["emotion_accuracy"] <= 1.0
    assert len(result.samples.classes) == result.model.output["emotion"].shape[-1]
