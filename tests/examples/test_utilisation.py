"""examples/benchmarks/utilisation.py: FLOPs counted by hand-checkable rules, and a smoke run."""
import json
from pathlib import Path

import keras
import pytest

from conftest import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "benchmarks" / "utilisation.py"


@pytest.fixture(scope="module")
def bench():
    return load_script(SCRIPT, "utilisation_benchmark")


def test_forward_flops_are_two_per_multiply_add_of_every_counted_layer(bench):
    inner = keras.Sequential([keras.Input((8, 8, 4)),
                              keras.layers.DepthwiseConv2D(3, padding="same", name="dw"),
                              keras.layers.SeparableConv2D(6, 3, strides=2, padding="same",
                                                           name="sep")], name="inner")
    inputs = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization()(x)  # not counted
    x = inner(x)
    outputs = keras.layers.Dense(3, name="dense")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    flops = {layer.name: bench.forward_flops(layer) for layer in bench.counted_layers(model)}
    assert flops == {"conv": 2 * 64 * 9 * 2 * 4,  # 8x8 positions, 3x3x2 inputs, 4 filters
                     "dw": 2 * 64 * 9 * 4,  # one 3x3 filter per channel
                     "sep": 2 * 16 * (9 * 4 + 4 * 6),  # 4x4 positions after stride 2
                     "dense": 2 * 96 * 3}  # 4x4x6 features in
    assert bench.step_flops(model, batch=10) == 3 * 10 * sum(flops.values())


@pytest.mark.slow
def test_the_smoke_run_prints_the_table_the_flags_and_the_matmul_peak(bench, tmp_path, capsys):
    results = bench.main(["--smoke", "--json", str(tmp_path / "util.json")])
    out = capsys.readouterr().out
    assert out.startswith("CPU: ") and "flags:" in out
    assert "| model | params | GFLOP per step | step ms | achieved GFLOP/s | op-mix peak " \
           "GFLOP/s | utilisation % | precision | XLA |" in out
    assert "matmul, fp32:" in out
    (row,) = results["rows"]
    assert row["model"] == "seed001_variant1" and row["parameters"] > 0 and not row["xla"]
    assert row["gflop_per_step"] > 0 and row["step_ms"] > 0 and row["op_mix_gflops"] > 0
    assert row["utilisation"] == pytest.approx(row["achieved_gflops"] / row["op_mix_gflops"])
    assert json.loads((tmp_path / "util.json").read_text())["rows"][0]["model"] == row["model"]
