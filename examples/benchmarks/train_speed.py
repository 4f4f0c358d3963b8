"""Training images/s of every seed model in ferkit against a seed-style PyTorch loop, side by side.

    python examples/benchmarks/train_speed.py                    # every seed model
    python examples/benchmarks/train_speed.py --models seed001_main --batch-size 128
    python examples/benchmarks/train_speed.py --json speed.json  # also write the figures
    python examples/benchmarks/train_speed.py --smoke            # tiny run for the tests

For each model, at its seed's input shape and ``--batch-size``, on random images held in
memory (shuffled and batched by ``tf.data`` and by a ``DataLoader``), this times:

- ferkit's ``fit`` (``ferkit.training.compile_model``: Adam, per-head loss and metrics) in
  each ``--configs`` setting: ``fp32`` (graph mode), ``fp32+XLA`` (``jit_compile``),
  ``bf16`` and ``bf16+XLA`` (the ``mixed_bfloat16`` policy);
- the PyTorch network of the same layers (``torch_reference.py``) in the seeds' loop.

Step times come from timestamps at consecutive batch ends (a Keras callback's
``on_train_batch_end``; after ``optimizer.step()`` in PyTorch), so start-up, tracing and XLA
compilation stay out; every setting first runs warm-up steps. Each setting is timed in
``--repeats`` windows that take turns with the other settings of the same model (order
reversed every other round), so background load falls on all of them alike. A window is
``--steps`` steps, fewer for slow models so that it lasts about ``--window-s`` seconds (never
under ``--min-steps``). A rate is ``batch / median step time`` of a window; the table shows
the median over windows, the best ferkit setting and its ratio to PyTorch.

Without PyTorch installed (``pip install .[bench]``) only the ferkit half is measured.
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
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ferkit import models
from step_timer import StepTimer  # examples/benchmarks/step_timer.py, beside this script
from ferkit.training import compile_model

sys.path.insert(0, str(Path(__file__).parent))
try:
    import torch
    import torch_reference
except ImportError as err:  # a benchmark-only dependency
    torch = torch_reference = None
    TORCH_MISSING = str(err)

#: Seed model -> the input shape its seed trained on.
SEED_MODELS = {
    "seed000_main": (96, 96, 3), "seed000_variant1": (96, 96, 3), "seed000_variant2": (96, 96, 3),
    "seed001_main": (48, 48, 1), "seed001_main_wide": (48, 48, 1),
    "seed001_variant1": (48, 48, 1), "seed001_variant2": (48, 48, 1),
    "B16_N8_FC2_K5": (48, 48, 1), "seed003_resnet50": (48, 48, 1), "seed004_resnet": (48, 48, 1),
}
#: Setting -> (Keras dtype policy, XLA).
CONFIGS = {"fp32": ("float32", False), "fp32+XLA": ("float32", True),
           "bf16": ("mixed_bfloat16", False), "bf16+XLA": ("mixed_bfloat16", True)}
TORCH = "torch"
TORCH_1T = "torch 1 thread"
CLASSES = 4
WARMUP_STEPS = 3
DEFAULT_CONFIGS = ["fp32", "fp32+XLA", "bf16"]
SMOKE = dict(models=["seed001_variant2", "seed001_variant1"], configs=["fp32", "bf16"],
             batch_size=8, steps=3, min_steps=3, repeats=1, window_s=0.0)


# --------------------------------------------------------------------------- ferkit side
def build_ferkit(name: str, shape, classes: int = CLASSES) -> keras.Model:
    """The registered model at ``shape`` with only the emotion head (seed 004's AUs left out)."""
    extra = {"num_aus": 0} if models.resolve(name)[0] == "multitask_resnet" else {}
    return models.build(name, input_shape=shape, num_classes=classes, **extra)


def trainable_parameters(model: keras.Model) -> int:
    """Trainable weights only, so BatchNorm statistics count as in PyTorch (buffers)."""
    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))


class FerkitRun:
    """A compiled ferkit model fed shuffled in-memory batches, timed in windows of steps."""

    def __init__(self, name: str, shape, config: str, batch_size: int, samples: int):
        policy, jit = CONFIGS[config]
        keras.mixed_precision.set_global_policy(policy)
        try:
            keras.utils.set_random_seed(0)
            self.model = compile_model(build_ferkit(name, shape), jit_compile=jit)
        finally:
            keras.mixed_precision.set_global_policy("float32")
        rng = np.random.default_rng(0)
        images = rng.random((samples, *shape), dtype=np.float32)
        labels = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, samples)]
        self.data = (tf.data.Dataset.from_tensor_slices((images, {"emotion": labels}))
                     .shuffle(samples, seed=0).batch(batch_size, drop_remainder=True)
                     .repeat().prefetch(2))
        self.parameters = trainable_parameters(self.model)

    def step_times(self, steps: int) -> list[float]:
        """Seconds of ``steps`` steps: gaps between ``steps + 1`` consecutive batch ends."""
        timer = StepTimer()
        self.model.fit(self.data, steps_per_epoch=steps + 1, epochs=1, verbose=0,
                       shuffle=False, callbacks=[timer])
        return list(np.diff(timer.ends))


# --------------------------------------------------------------------------- PyTorch side
class TorchRun:
    """``torch_reference.SeedLoop`` on the PyTorch network of the same name.

    ``threads`` (None: PyTorch's default, one per core) is set for this run's windows only.
    """

    def __init__(self, name: str, shape, batch_size: int, samples: int, threads: int | None = None):
        torch.manual_seed(0)
        network = torch_reference.build(name, shape, CLASSES)
        self.parameters = torch_reference.trainable_parameters(network)
        self.loop = torch_reference.SeedLoop(network, shape, CLASSES, batch_size, samples)
        self.threads = threads

    def step_times(self, steps: int) -> list[float]:
        default = torch.get_num_threads()
        torch.set_num_threads(self.threads or default)
        try:
            return self.loop.step_times(steps)
        finally:
            torch.set_num_threads(default)


# --------------------------------------------------------------------------- timing
def window_steps(step_s: float, args) -> int:
    """Steps per timed window: ``--steps``, fewer for slow steps, at least ``--min-steps``."""
    if args.window_s <= 0:
        return args.steps
    return max(args.min_steps, min(args.steps, math.ceil(args.window_s / max(step_s, 1e-6))))


def measure_model(name: str, args, with_torch: bool) -> dict:
    """Images/s of every ferkit setting (and PyTorch) for one model, windows interleaved."""
    shape = SEED_MODELS[name]
    samples = 4 * args.batch_size
    runs: dict[str, FerkitRun | TorchRun] = {
        config: FerkitRun(name, shape, config, args.batch_size, samples) for config in args.configs}
    if with_torch:
        runs[TORCH] = TorchRun(name, shape, args.batch_size, samples)
        if args.torch_one_thread:
            runs[TORCH_1T] = TorchRun(name, shape, args.batch_size, samples, threads=1)
    steps = {}
    for label, run in runs.items():
        warm = statistics.median(run.step_times(WARMUP_STEPS))
        steps[label] = window_steps(warm, args)
        print(f"    {name} {label}: warm-up {warm:.2f} s/step, windows of {steps[label]} steps",
              flush=True)
    window_medians: dict[str, list[float]] = {label: [] for label in runs}
    for repeat in range(args.repeats):
        order = list(runs) if repeat % 2 == 0 else list(runs)[::-1]
        for label in order:
            window_medians[label].append(statistics.median(runs[label].step_times(steps[label])))
        print(f"    {name} window {repeat + 1}: " + ", ".join(
            f"{label} {args.batch_size / times[-1]:.1f}" for label, times in window_medians.items())
            + " img/s", flush=True)
    rates = {label: args.batch_size / statistics.median(times)
             for label, times in window_medians.items()}
    ferkit = {config: rates[config] for config in args.configs}
    best = max(ferkit, key=ferkit.get)
    row = {"model": name, "input": "x".join(map(str, shape)),
           "ferkit_params": runs[args.configs[0]].parameters, "ferkit": ferkit, "best": best,
           "ferkit_best": ferkit[best], "steps_per_window": steps,
           "torch_params": None, "torch": None, "ratio": None, "torch_1_thread": None,
           "ratio_1_thread": None}
    if with_torch:
        row.update(torch_params=runs[TORCH].parameters, torch=rates[TORCH],
                   ratio=ferkit[best] / rates[TORCH])
    if TORCH_1T in rates:
        row.update(torch_1_thread=rates[TORCH_1T], ratio_1_thread=ferkit[best] / rates[TORCH_1T])
    return row


# --------------------------------------------------------------------------- report
def cpu_description() -> dict:
    """CPU model and the vector/matrix extensions that decide fp32 and bf16 speed."""
    flags, model = set(), platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("", platform.machine()):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")
    return {"cpu": model, "cores": os.cpu_count(), "extensions": [f for f in wanted if f in flags]}


def machine_line(machine: dict) -> str:
    ext = machine["extensions"]
    bf16 = "AMX bf16" if "amx_bf16" in ext else "AVX-512 bf16" if "avx512_bf16" in ext else \
        "no bf16 hardware"
    return (f"{machine['cpu']}, {machine['cores']} cores, {', '.join(ext) or 'no AVX2'} "
            f"({bf16}); TensorFlow {tf.__version__}, Keras {keras.__version__}"
            + (f", PyTorch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else
               "") + f"; load average {machine['load_start']:.1f} at start")


def table(rows: list[dict], configs: list[str], with_torch: bool) -> str:
    """The markdown table: one row per model."""
    one_thread = with_torch and rows[0]["torch_1_thread"] is not None
    head = ["model", "input", "ferkit params"] + (["torch params"] if with_torch else [])
    head += [f"{config} img/s" for config in configs] + ["ferkit best"]
    head += ["torch img/s", "ferkit / torch"] if with_torch else []
    head += ["torch 1-thread img/s", "ferkit / torch 1-thread"] if one_thread else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["model"], row["input"], f"{row['ferkit_params']:,}"]
        cells += [f"{row['torch_params']:,}"] if with_torch else []
        cells += [f"{row['ferkit'][config]:.1f}" for config in configs]
        cells.append(f"{row['ferkit_best']:.1f} ({row['best']})")
        cells += [f"{row['torch']:.1f}", f"x{row['ratio']:.2f}"] if with_torch else []
        cells += ([f"{row['torch_1_thread']:.1f}", f"x{row['ratio_1_thread']:.2f}"]
                  if one_thread else [])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(SEED_MODELS),
                        help="seed models to time (default: all; --smoke: two small ones)")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS),
                        help=f"ferkit settings to time (default: {' '.join(DEFAULT_CONFIGS)})")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="most steps in a timed window")
    parser.add_argument("--min-steps", type=int, default=3, help="fewest steps in a window")
    parser.add_argument("--window-s", type=float, default=6.0,
                        help="target seconds per window (0: always --steps)")
    parser.add_argument("--repeats", type=int, default=3, help="timed windows per setting")
    parser.add_argument("--torch-one-thread", action="store_true",
                        help="also time the PyTorch loop on one thread (see the docs on load)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--smoke", action="store_true",
                        help="two tiny models (unless --models), fp32 and bf16 (unless --configs), "
                             "few steps")
    args = parser.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            if key not in ("models", "configs") or not getattr(args, key):
                setattr(args, key, value)
    args.models = args.models or list(SEED_MODELS)
    args.configs = args.configs or DEFAULT_CONFIGS
    for key in ("batch_size", "steps", "min_steps", "repeats"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be >= 1, got {getattr(args, key)}")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
    with_torch = torch is not None
    machine = {**cpu_description(), "load_start": os.getloadavg()[0]}
    print(machine_line(machine))
    if not with_torch:
        print(f"PyTorch is missing ({TORCH_MISSING}; pip install .[bench]): "
              "only the ferkit half is measured.")
    print(f"batch {args.batch_size}, {args.repeats} interleaved windows per setting, "
          f"up to {args.steps} steps each (~{args.window_s:g} s)", flush=True)
    rows = []
    start = time.perf_counter()
    for name in args.models:
        rows.append(measure_model(name, args, with_torch))
        print(f"  {name}: done after {time.perf_counter() - start:.0f} s", flush=True)
    machine["load_end"] = os.getloadavg()[0]
    print(table(rows, args.configs, with_torch))
    print(f"load average {machine['load_start']:.1f} at start, {machine['load_end']:.1f} at end")
    result = {"machine": machine, "batch_size": args.batch_size, "configs": args.configs,
              "repeats": args.repeats, "torch_version": torch.__version__ if with_torch else None,
              "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
