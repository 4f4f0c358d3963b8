"""Training-input throughput: ferkit's tf.data pipeline vs a seed-style per-image loop.

    python examples/benchmarks/data_pipeline.py --data path/to/fer2013
    python examples/benchmarks/data_pipeline.py --smoke        # tiny synthetic CSV (tests)

Prints, as medians of ``--repeats`` runs:
- images/s of ferkit's training pipeline (FER2013 Training split: shuffle, batch, flip,
  +-10 deg rotation, shift, brightness, contrast), fed from the parsed CSV;
- images/s of a seed-style loop doing the same per image with PIL and numpy;
- the model's consumption rate (images/s of train steps on a batch already in memory);
- the share of a training step spent waiting for input (steps fed by the pipeline vs by a
  constant in-memory batch).
"""
from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageEnhance

from ferkit import models
from step_timer import StepTimer  # examples/benchmarks/step_timer.py, beside this script
from ferkit.data import build_augmenter, make_dataset
from ferkit.data.sources.fer2013 import load_fer2013
from ferkit.training import compile_model


def write_smoke_csv(folder: Path, rows: int = 256) -> Path:
    """A tiny FER2013-format file with random pixels, for smoke runs."""
    rng = np.random.default_rng(0)
    lines = ["emotion,pixels,Usage"]
    for i in range(rows):
        pixels = " ".join(map(str, rng.integers(0, 256, 48 * 48)))
        lines.append(f"{i % 7},{pixels},{'Training' if i % 5 else 'PublicTest'}")
    path = folder / "fer2013.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def time_pipeline(samples, batch_size: int, batches: int) -> float:
    dataset = make_dataset(samples, batch_size=batch_size, training=True, heads=["emotion"],
                           augmenter=build_augmenter(seed=0)).repeat()
    iterator = iter(dataset)
    next(iterator)  # build and trace before timing
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def seed_style_batch(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
    """What the seeds' PyTorch Dataset/transforms did: one PIL image at a time."""
    batch = []
    for image in images:
        picture = Image.fromarray(image)
        if rng.random() < 0.5:
            picture = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        picture = picture.rotate(rng.uniform(-10, 10))
        dx, dy = rng.integers(-4, 5, 2)
        picture = picture.transform(picture.size, Image.Transform.AFFINE, (1, 0, dx, 0, 1, dy))
        picture = ImageEnhance.Brightness(picture).enhance(rng.uniform(0.8, 1.2))
        picture = ImageEnhance.Contrast(picture).enhance(rng.uniform(0.8, 1.2))
        batch.append(np.asarray(picture, dtype=np.float32)[..., None] / 255.0)
    return np.stack(batch), np.eye(7, dtype=np.float32)[labels]


def time_seed_loop(samples, batch_size: int, batches: int) -> float:
    images, labels = samples.images, samples.labels
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(batches):
        rows = rng.integers(0, len(images), batch_size)
        seed_style_batch(images[rows], labels[rows], rng)
    return batches * batch_size / (time.perf_counter() - start)


def time_training(model, dataset, steps: int, warmup: int = 3) -> float:
    """Median seconds per train step inside one ``fit`` call, after ``warmup`` steps.

    Timing between batch ends inside one epoch leaves out start-up costs (tracing, the
    first fill of the shuffle buffer), so the difference between a pipeline-fed and a
    constant-fed run is the time steps actually wait for input.
    """
    timer = StepTimer()
    model.fit(dataset, steps_per_epoch=steps + warmup, epochs=1, verbose=0, shuffle=False,
              callbacks=[timer])
    return statistics.median(np.diff(timer.ends[warmup - 1:]))


def consumption(samples, model_name: str, batch_size: int, steps: int) -> tuple[float, float]:
    """(model images/s on in-memory batches, share of step time spent waiting for input)."""
    keras.utils.set_random_seed(0)
    extra = {"num_aus": 0} if models.resolve(model_name)[0] == "multitask_resnet" else {}
    model = compile_model(models.build(model_name, input_shape=(48, 48, 1), num_classes=7, **extra))
    fed = make_dataset(samples, batch_size=batch_size, training=True, heads=["emotion"],
                       augmenter=build_augmenter(seed=0)).repeat()
    constant = fed.take(1).cache().repeat()
    t_constant = time_training(model, constant, steps)
    t_fed = time_training(model, fed, steps)
    return batch_size / t_constant, max(0.0, (t_fed - t_constant) / t_fed)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder holding fer2013.csv(.gz), e.g. path/to/fer2013 "
                                       "(required unless --smoke)")
    parser.add_argument("--model", default="seed001_main", help="model whose rate is measured")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny synthetic CSV, few steps")
    args = parser.parse_args(argv)
    if not args.smoke and not args.data:
        parser.error("--data path/to/fer2013 is required (or --smoke for a tiny synthetic run)")
    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            csv = write_smoke_csv(Path(tmp))
            args.batches, args.steps, args.repeats, args.batch_size = 4, 3, 1, 16
            args.model = "seed001_variant2"
        else:
            folder = Path(args.data)
            csv = next((folder / n for n in ("fer2013.csv.gz", "fer2013.csv") if (folder / n).exists()), folder)
        start = time.perf_counter()
        samples = load_fer2013(csv, usage="Training")
        print(f"parsed {len(samples)} Training rows of {csv} in {time.perf_counter() - start:.1f} s")
        if args.model not in models.available():
            print(f"model {args.model!r} is not registered here; using ckplus_small")
            args.model = "ckplus_small"
        runs = [(time_pipeline(samples, args.batch_size, args.batches),
                 time_seed_loop(samples, args.batch_size, args.batches),
                 *consumption(samples, args.model, args.batch_size, args.steps))
                for _ in range(args.repeats)]
    pipeline, seed_loop, model_rate, waiting = (statistics.median(c) for c in zip(*runs))
    print(f"ferkit tf.data pipeline:   {pipeline:9.0f} images/s")
    print(f"seed-style PIL loop:       {seed_loop:9.0f} images/s   (ferkit x{pipeline / seed_loop:.1f})")
    print(f"model consumption ({args.model}): {model_rate:6.0f} images/s   "
          f"(pipeline / model = x{pipeline / model_rate:.1f})")
    print(f"input wait share of a training step: {100 * waiting:.1f} %")


if __name__ == "__main__":
    main()
