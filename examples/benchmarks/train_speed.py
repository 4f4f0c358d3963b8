"""Training images/s of every seed model on this CPU (fp32 and mixed_bfloat16), and the
inference latency per face.

    python examples/benchmarks/train_speed.py                 # all seed models, ~15 min
    python examples/benchmarks/train_speed.py --models seed001_main fer_compact
    python examples/benchmarks/train_speed.py --smoke         # tiny run for the tests

Each model is built at its seed's input shape and trained on in-memory batches (so input is
not the bottleneck), batch 64: fp32 without XLA, fp32 with XLA (``jit_compile``) and
mixed_bfloat16 with XLA. Figures are medians over ``--repeats`` timed
windows of ``--steps`` steps after a warm-up. Latency is one face (batch 1) through a
compiled forward pass, median of 50 calls.
"""
from __future__ import annotations

import argparse
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from ferkit import models
from ferkit.training import compile_model

#: Model -> input shape used by its seed.
SEED_MODELS = {
    "seed000_main": (96, 96, 3), "seed000_variant1": (96, 96, 3), "seed000_variant2": (96, 96, 3),
    "seed001_main": (48, 48, 1), "seed001_main_wide": (48, 48, 1),
    "seed001_variant1": (48, 48, 1), "seed001_variant2": (48, 48, 1),
    "B16_N8_FC2_K5": (48, 48, 1), "seed003_resnet50": (48, 48, 1),
    "seed004_resnet": (48, 48, 1), "ckplus_small": (48, 48, 1), "fer_compact": (48, 48, 1),
}


def _build(name: str, shape, classes: int = 4) -> keras.Model:
    extra = {"num_aus": 0} if models.resolve(name)[0] == "multitask_resnet" else {}
    return models.build(name, input_shape=shape, num_classes=classes, **extra)


def train_rate(name: str, shape, precision: str, batch: int, steps: int, repeats: int,
               jit: bool = True) -> float:
    """Median training images/s."""
    keras.mixed_precision.set_global_policy(precision)
    try:
        keras.utils.set_random_seed(0)
        model = compile_model(_build(name, shape), jit_compile=jit)
        rng = np.random.default_rng(0)
        x = rng.random((batch, *shape), dtype=np.float32)
        y = {"emotion": np.eye(4, dtype=np.float32)[rng.integers(0, 4, batch)]}
        data = tf.data.Dataset.from_tensors((x, y)).repeat()
        model.fit(data, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
            rates.append(steps * batch / (time.perf_counter() - start))
        return statistics.median(rates)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def latency_ms(name: str, shape, calls: int = 50) -> float:
    """Median milliseconds for one face through a compiled forward pass."""
    model = _build(name, shape)
    forward = tf.function(lambda x: model(x, training=False), jit_compile=True)
    face = tf.constant(np.random.default_rng(0).random((1, *shape), dtype=np.float32))
    forward(face)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        forward(face)["emotion"].numpy()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(SEED_MODELS), choices=list(SEED_MODELS))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="two small models, few steps")
    args = parser.parse_args(argv)
    if args.smoke:
        args.models, args.steps, args.repeats, args.batch_size = ["seed001_variant2", "seed001_variant1"], 2, 1, 8
    print(f"{tf.config.threading.get_intra_op_parallelism_threads() or 'all'} threads, "
          f"batch {args.batch_size}, {args.steps} steps x {args.repeats} repeats")
    print("| model | input | parameters | fp32 img/s | fp32+XLA img/s | bf16+XLA img/s | "
          "best | latency ms/face |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.models:
        shape = SEED_MODELS[name]
        timing = (args.batch_size, args.steps, args.repeats)
        rates = {"fp32": train_rate(name, shape, "float32", *timing, jit=False),
                 "fp32+XLA": train_rate(name, shape, "float32", *timing),
                 "bf16+XLA": train_rate(name, shape, "mixed_bfloat16", *timing)}
        best = max(rates, key=rates.get)
        params = _build(name, shape).count_params()
        print(f"| {name} | {'x'.join(map(str, shape))} | {params:,} | "
              + " | ".join(f"{r:.0f}" for r in rates.values())
              + f" | {best} | {latency_ms(name, shape):.2f} |", flush=True)


if __name__ == "__main__":
    main()
