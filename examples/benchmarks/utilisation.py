"""Training utilisation: a training step's achieved FLOP/s against this CPU's peak for the same ops.

    python examples/benchmarks/utilisation.py                  # the recipe and three seed models
    python examples/benchmarks/utilisation.py --configs configs/seed001_variant1.yaml
    python examples/benchmarks/utilisation.py --smoke          # few steps (tests)

For each config (default: ``configs/fer2013_recipe.yaml``, ``seed000_main``,
``seed001_main_wide`` and ``seed003_resnet50``) the model is built and compiled as ``ferkit
train`` would (its input shape, batch size, precision: ``train.mixed_precision``; ``--set``
overrides every config), without XLA: the op-mix peak below is timed without it, and XLA
slows these networks on a CPU (docs/results/training_speed.md); ``--xla config`` keeps each
config's ``train.jit_compile``. Then:

* **FLOPs per training step**, counted analytically: every convolution (``Conv2D``,
  ``DepthwiseConv2D``, ``SeparableConv2D``) and ``Dense`` layer, nested models included, does
  2 x multiply-adds forward; a training step is taken as 3x forward (the forward pass, the
  gradient with respect to the layer's input and the one with respect to its weights).
  Normalisation, activations, pooling, the loss and the optimiser update are not counted:
  they are memory-bound work without a FLOP peak to compare with.
* **step time**: the median gap between consecutive batch ends of ``fit`` on random images
  held in memory, after warm-up steps (tracing left out).
* **op-mix peak**: each distinct convolution and Dense layer of the model, as a fresh copy of
  the layer in the same precision, timed alone at the model's batch and shapes, forward and
  backward (input and weight gradients), median of ``--repeats`` calls. The peak for the mix
  is the step's counted FLOPs over the sum of those times: what the step would achieve if it
  were only its own convolutions and matmuls, each run back to back at its measured speed.
  Utilisation is the achieved rate over that peak. A plain large square matmul in each
  precision used gives the CPU's headline rate for comparison.

Prints the CPU and its flags (AMX, AVX-512, bfloat16), then a table (model, parameters,
GFLOP per step, step ms, achieved GFLOP/s, op-mix peak GFLOP/s, utilisation %, precision,
XLA); ``--json`` also writes the figures.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from step_timer import StepTimer  # examples/benchmarks/step_timer.py, beside this script

from ferkit.config import Config, load_config
from ferkit.data import FER2013_EMOTIONS
from ferkit.training.compile import HEAD_KINDS, head_names
from ferkit.training.engine import HeadSizes, build_compiled_model
from ferkit.training.precision import cpu_flags, use_mixed_precision

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIGS = [ROOT / "configs" / name for name in (
    "fer2013_recipe.yaml", "seed000_main.yaml", "seed001_main_wide.yaml", "seed003_resnet50.yaml")]
SMOKE_CONFIGS = [ROOT / "configs" / "seed001_variant1.yaml"]
COUNTED = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D,
           keras.layers.Dense)
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16",
         "amx_int8")
TRAINING_PER_FORWARD = 3


# --------------------------------------------------------------------------- counting FLOPs
def counted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every convolution and Dense layer of ``model``, inside nested models too."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += counted_layers(layer)
        elif isinstance(layer, COUNTED):
            found.append(layer)
    return found


def _shape(tensor) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape[1:])


def forward_flops(layer: keras.layers.Layer) -> float:
    """Floating-point operations (2 per multiply-add) of one image through ``layer``."""
    (*_, channels_in), (*space, channels_out) = _shape(layer.input), _shape(layer.output)
    positions = math.prod(space)
    if isinstance(layer, keras.layers.Dense):
        return 2.0 * positions * channels_in * channels_out
    kernel = math.prod(layer.kernel_size)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return 2.0 * positions * kernel * channels_out
    if isinstance(layer, keras.layers.SeparableConv2D):
        depthwise = channels_in * layer.depth_multiplier
        return 2.0 * positions * (kernel * depthwise + depthwise * channels_out)
    return 2.0 * positions * kernel * channels_in / layer.groups * channels_out


def step_flops(model: keras.Model, batch: int) -> float:
    """Counted FLOPs of one training step on ``batch`` images."""
    return TRAINING_PER_FORWARD * batch * sum(forward_flops(l) for l in counted_layers(model))


# --------------------------------------------------------------------------- timing
def median_call_s(function, args, repeats: int) -> float:
    """Median seconds of ``function(*args)`` after one untimed call (tracing)."""
    function(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        outputs = function(*args)
        _ = [np.asarray(o) for o in tf.nest.flatten(outputs)[:1]]  # wait for the result
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def layer_seconds(layer: keras.layers.Layer, batch: int, repeats: int) -> float:
    """Seconds of a forward and backward pass of a fresh copy of ``layer`` on ``batch``."""
    copy = type(layer).from_config(layer.get_config())
    shape = (batch, *_shape(layer.input))
    copy.build(shape)
    dtype = copy.compute_dtype
    x = tf.cast(tf.random.uniform(shape), dtype)
    dy = tf.cast(tf.random.uniform((batch, *_shape(layer.output))), dtype)

    @tf.function
    def forward_backward(x, dy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = copy(x)
        return tape.gradient(y, [x, *copy.trainable_variables], output_gradients=dy)

    return median_call_s(forward_backward, (x, dy), repeats)


def op_mix(model: keras.Model, batch: int, repeats: int) -> tuple[float, float]:
    """(counted FLOPs, seconds) of the model's counted layers timed one by one; layers of
    the same kind, settings and shapes are timed once."""
    flops, seconds, timed = 0.0, 0.0, {}
    for layer in counted_layers(model):
        config = {k: v for k, v in layer.get_config().items() if k != "name"}
        key = (type(layer).__name__, json.dumps(config, sort_keys=True, default=str),
               _shape(layer.input))
        if key not in timed:
            timed[key] = layer_seconds(layer, batch, repeats)
        flops += TRAINING_PER_FORWARD * batch * forward_flops(layer)
        seconds += timed[key]
    return flops, seconds


def matmul_peak(size: int, dtype: str, repeats: int) -> float:
    """GFLOP/s of a ``size`` x ``size`` matmul in ``dtype``."""
    a = tf.cast(tf.random.uniform((size, size)), dtype)
    b = tf.cast(tf.random.uniform((size, size)), dtype)
    seconds = median_call_s(tf.function(tf.linalg.matmul), (a, b), repeats)
    return 2.0 * size ** 3 / seconds / 1e9


def random_batches(model: keras.Model, batch: int) -> tf.data.Dataset:
    """Random images and targets for every head, repeated forever, batched."""
    rows, rng = 4 * batch, np.random.default_rng(0)
    images = rng.random((rows, *_shape(model.input)), dtype="float32")
    targets = {}
    for head in head_names(model):
        width = int(model.output[head].shape[-1]) if isinstance(model.output, dict) else \
            int(model.output.shape[-1])
        kind = HEAD_KINDS[head]
        if kind == "multilabel":
            targets[head] = rng.integers(0, 2, (rows, width)).astype("float32")
        else:
            raw = np.eye(width, dtype="float32")[rng.integers(0, width, rows)]
            targets[head] = raw if kind == "multiclass" else (raw + 0.1) / (1 + 0.1 * width)
    if not isinstance(model.output, dict):
        targets = targets[head_names(model)[0]]
    return tf.data.Dataset.from_tensor_slices((images, targets)).repeat().batch(batch).prefetch(2)


def step_seconds(model: keras.Model, batch: int, warmup: int, steps: int) -> float:
    """Median seconds of a training step in ``fit``, after ``warmup`` steps."""
    timer = StepTimer()
    model.fit(random_batches(model, batch), epochs=1, steps_per_epoch=warmup + steps,
              verbose=0, callbacks=[timer])
    gaps = np.diff(timer.ends)
    return float(np.median(gaps[max(0, warmup - 1):]))


# --------------------------------------------------------------------------- one model
def classes_of(config: Config) -> int:
    return len(config.data.classes) if config.data.classes else len(FER2013_EMOTIONS)


def measure(config: Config, warmup: int, steps: int, repeats: int) -> dict:
    """Every figure of one table row for ``config``."""
    mixed = use_mixed_precision(config.train.mixed_precision)
    batch = config.train.batch_size
    keras.utils.set_random_seed(config.seed)
    # built under the run's policy; the layer copies timed by op_mix keep it (their dtype)
    model = build_compiled_model(config, HeadSizes(classes_of(config)), steps_per_epoch=100)
    flops = step_flops(model, batch)
    seconds = step_seconds(model, batch, warmup, steps)
    mix_flops, mix_seconds = op_mix(model, batch, repeats)
    achieved, peak = flops / seconds / 1e9, mix_flops / mix_seconds / 1e9
    return {"model": config.name, "architecture": config.model.name,
            "parameters": int(model.count_params()), "batch": batch,
            "input": list(_shape(model.input)), "precision": "bf16" if mixed else "fp32",
            "xla": bool(config.train.jit_compile), "gflop_per_step": flops / 1e9,
            "step_ms": seconds * 1e3, "achieved_gflops": achieved, "op_mix_gflops": peak,
            "utilisation": achieved / peak}


# --------------------------------------------------------------------------- report
def cpu_line() -> str:
    flags = cpu_flags()
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    present = [flag for flag in FLAGS if flag in flags]
    return (f"CPU: {name}, {os.cpu_count()} cores; flags: {', '.join(present) or 'none of '}"
            f"{'' if present else ', '.join(FLAGS)}; TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}")


def table(rows: list[dict]) -> str:
    lines = ["| model | params | GFLOP per step | step ms | achieved GFLOP/s | op-mix peak "
             "GFLOP/s | utilisation % | precision | XLA |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['model']} ({r['input'][0]}x{r['input'][1]}x{r['input'][2]}, batch "
              f"{r['batch']}) | {r['parameters']:,} | {r['gflop_per_step']:.2f} | "
              f"{r['step_ms']:.1f} | {r['achieved_gflops']:.1f} | {r['op_mix_gflops']:.1f} | "
              f"{100 * r['utilisation']:.0f} | {r['precision']} | "
              f"{'on' if r['xla'] else 'off'} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", type=Path, help="config files (default: the "
                        "recipe, seed000_main, seed001_main_wide, seed003_resnet50)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override applied to every config, e.g. --set train.jit_compile=false")
    parser.add_argument("--xla", choices=["off", "config"], default="off",
                        help="off (default), or each config's train.jit_compile")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per model")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per layer and matmul")
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--smoke", action="store_true", help="a small model, few steps (tests)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.warmup, args.repeats, args.matmul_size = 2, 1, 1, 256
    tf.get_logger().setLevel("ERROR")  # one tf.function per timed layer is retracing by design
    paths = args.configs or (SMOKE_CONFIGS if args.smoke else DEFAULT_CONFIGS)
    overrides = args.set + (["train.jit_compile=false"] if args.xla == "off" else [])
    rows = [measure(load_config(path, overrides), args.warmup, args.steps, args.repeats)
            for path in paths]
    peaks = {precision: matmul_peak(args.matmul_size, "bfloat16" if precision == "bf16"
                                    else "float32", args.repeats)
             for precision in sorted({row["precision"] for row in rows})}
    print(cpu_line())
    print(table(rows))
    for precision, rate in peaks.items():
        print(f"plain {args.matmul_size}x{args.matmul_size} matmul, {precision}: "
              f"{rate:.1f} GFLOP/s")
    results = {"cpu": cpu_line(), "rows": rows, "matmul_gflops": peaks,
               "matmul_size": args.matmul_size, "steps": args.steps,
               "measured": time.strftime("%Y-%m-%d %H:%M")}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
