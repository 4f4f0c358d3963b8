"""The benchmark scripts run in their smoke modes and print every figure they promise."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "examples" / "benchmarks"
SPEED_SMOKE_MODELS = ["seed001_variant2", "seed001_variant1"]


def _run(script, *args, env=None):
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), "--smoke", *args],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _table_rows(out, models):
    """The printed markdown table's header and its rows for ``models``, as lists of cells."""
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]
    assert [row[0] for row in rows] == models, out
    assert all(len(row) == len(header) for row in rows), out
    return header, rows


@pytest.mark.slow
def test_data_pipeline_benchmark_prints_rates_and_wait_share():
    out = _run("data_pipeline.py")
    for needle in ["ferkit tf.data pipeline:", "seed-style PIL loop:", "model consumption",
                   "input wait share of a training step:"]:
        assert needle in out, out


@pytest.mark.slow
def test_train_speed_benchmark_compares_each_model_with_the_torch_loop(tmp_path):
    """With PyTorch installed: both parameter counts, every rate and the ratio per model."""
    has_torch = importlib.util.find_spec("torch") is not None
    out = _run("train_speed.py", "--json", str(tmp_path / "speed.json"))
    result = json.loads((tmp_path / "speed.json").read_text())
    assert [row["model"] for row in result["rows"]] == SPEED_SMOKE_MODELS
    header, rows = _table_rows(out, SPEED_SMOKE_MODELS)
    for row, printed in zip(result["rows"], rows):
        assert row["best"] in row["ferkit"] and set(row["ferkit"]) == set(result["configs"])
        assert all(rate > 0 for rate in row["ferkit"].values()), row
        assert row["ferkit_best"] == max(row["ferkit"].values())
        assert f"({row['best']})" in printed[header.index("ferkit best")]
        if not has_torch:
            assert row["torch"] is None and "PyTorch is missing" in out
            continue
        assert row["torch_params"] == row["ferkit_params"], f"{row['model']}: layouts differ"
        assert row["torch"] > 0
        assert row["ratio"] == pytest.approx(row["ferkit_best"] / row["torch"])
        assert printed[header.index("ferkit / torch")] == f"x{row['ratio']:.2f}"


@pytest.mark.slow
def test_train_speed_benchmark_without_torch_measures_only_ferkit(tmp_path):
    """A ``torch`` that fails to import stands for an install without the bench extra."""
    hidden = tmp_path / "torch"
    hidden.mkdir()
    (hidden / "__init__.py").write_text("raise ImportError('torch hidden by the test')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = _run("train_speed.py", "--models", "seed001_variant2", "--configs", "fp32", "fp32+XLA",
               env=env)
    assert "PyTorch is missing (torch hidden by the test" in out, out
    header, rows = _table_rows(out, ["seed001_variant2"])
    assert not any("torch" in column for column in header), header
    assert float(rows[0][header.index("fp32 img/s")]) > 0
    assert float(rows[0][header.index("fp32+XLA img/s")]) > 0


def test_cli_startup_benchmark_times_every_help(tmp_path):
    from ferkit.cli import COMMAND_MODULES

    out = _run("cli_startup.py", "--json", str(tmp_path / "startup.json"))
    result = json.loads((tmp_path / "startup.json").read_text())
    expected = ["ferkit --help", *(f"ferkit {name} --help" for name in COMMAND_MODULES),
                "ferkit data inspect --help"]
    assert [row["command"] for row in result["rows"]] == expected
    assert all(row["median_s"] > 0 and row["modules"] > 0 for row in result["rows"])
    for command in expected:
        assert f"| `{command}` |" in out, out
    assert "commands at or over 1 s:" in out
