"""The TTA benchmark: one pass per view against batched views, same probabilities."""
import json
import sys
from pathlib import Path

import pytest
from conftest import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "benchmarks" / "tta.py"


@pytest.mark.slow
def test_smoke_run_prints_both_rates_and_they_agree(tmp_path, capsys):
    bench = load_script(SCRIPT, "tta_benchmark")
    try:
        figures = bench.main(["--smoke", "--json", str(tmp_path / "tta.json")])
    finally:
        sys.modules.pop("tta_benchmark", None)
    assert figures["views"] == 14 and figures["batch_size"] == 8
    assert figures["per_view_images_per_s"] > 0 and figures["batched_images_per_s"] > 0
    assert figures["speedup"] == pytest.approx(figures["batched_images_per_s"]
                                               / figures["per_view_images_per_s"])
    assert figures["max_probability_difference"] <= 1e-5
    assert json.loads((tmp_path / "tta.json").read_text()) == figures
    out = capsys.readouterr().out
    assert "| one pass per view |" in out and "| views batched in one pass |" in out
