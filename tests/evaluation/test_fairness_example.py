"""The injected-bias fairness example, run end to end in its fast mode."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fairness_mitigation.py"


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    """Output folder and printed text of one ``--fast --strategy both`` run."""
    out = tmp_path_factory.mktemp("fairness_mitigation")
    done = subprocess.run([sys.executable, str(EXAMPLE), "--fast", "--strategy", "both", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout


@pytest.mark.slow
def test_every_model_has_its_run_and_fairness_report(fast_run):
    out, _ = fast_run
    for model in ("baseline", "weights", "oversample"):
        assert (out / model / "predictions.csv").is_file(), model
        for name in ("fairness_by_group.csv", "fairness_intervals.csv", "plots/fairness_accuracy.png"):
            assert (out / model / "fairness" / name).is_file(), f"{model}/{name}"


@pytest.mark.slow
def test_comparison_tables_and_plots_are_written(fast_run):
    out, _ = fast_run
    for strategy in ("weights", "oversample"):
        comparison = pd.read_csv(out / f"comparison_{strategy}.csv")
        assert {"before", "after", "change"} <= set(comparison.columns)
        assert set(comparison["attribute"]) == {"skin_tone", "gender", "age_group"}
        assert "difference (max-min)" in set(comparison["group"])
        for metric in ("accuracy", "macro_f1"):
            assert (out / "plots" / f"mitigation_{strategy}_{metric}.png").stat().st_size > 0
    assert (out / "summary.md").is_file()


@pytest.mark.slow
def test_output_prints_group_tables_and_disparity_before_and_after(fast_run):
    out, stdout = fast_run
    assert "baseline: skin_tone (test subjects)" in stdout
    assert "accuracy_95ci" in stdout
    for strategy in ("weights", "oversample"):
        assert f"Disparity (max - min) before / after: {strategy}" in stdout
    assert "gap_before" in stdout and "gap_after" in stdout
    summary = json.loads((out / "summary.json").read_text())
    gaps = summary["disparities"]["weights"]
    skin = [row for row in gaps if row["attribute"] == "skin_tone" and row["metric"] == "accuracy"]
    assert len(skin) == 1 and {"gap_before", "gap_after", "change"} <= set(skin[0])


@pytest.mark.slow
def test_mitigation_touches_the_training_split_only(fast_run):
    out, _ = fast_run
    baseline = pd.read_csv(out / "baseline" / "splits.csv")
    weighted = pd.read_csv(out / "weights" / "splits.csv")
    oversampled = pd.read_csv(out / "oversample" / "splits.csv")
    assert (weighted.loc[weighted["split"] != "train", "sample_weight"] == 1.0).all()
    assert weighted.loc[weighted["split"] == "train", "sample_weight"].mean() == pytest.approx(1.0)
    for split in ("val", "test"):
        assert (oversampled["split"] == split).sum() == (baseline["split"] == split).sum()
    assert (oversampled["split"] == "train").sum() > (baseline["split"] == "train").sum()
    assert baseline.groupby("subject")["split"].nunique().max() == 1  # subject-disjoint
    assert set(baseline.loc[baseline["split"] == "test", "skin_tone"]) == {"light", "medium", "dark"}
