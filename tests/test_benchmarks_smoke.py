"""The benchmark scripts run in their smoke modes and print every figure they promise."""
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parent.parent / "examples" / "benchmarks"


def _run(script, *args):
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), "--smoke", *args],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_data_pipeline_benchmark_prints_rates_and_wait_share():
    out = _run("data_pipeline.py")
    for needle in ["ferkit tf.data pipeline:", "seed-style PIL loop:", "model consumption",
                   "input wait share of a training step:"]:
        assert needle in out, out


def test_train_speed_benchmark_prints_a_row_per_model():
    out = _run("train_speed.py")
    rows = [line for line in out.splitlines() if line.startswith("| seed001_variant2")
            or line.startswith("| seed001_variant1")]
    assert len(rows) == 2, out
    assert all(len(row.split("|")) == 10 for row in rows)
