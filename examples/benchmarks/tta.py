"""Test-time augmentation speed: one forward pass per view against all views in one pass.

    python examples/benchmarks/tta.py --preset fer2013 --data path/to/fer2013 --json tta.json
    python examples/benchmarks/tta.py --run runs/fer2013_recipe --data path/to/fer2013
    python examples/benchmarks/tta.py --smoke          # tiny untrained model, a few faces

The FER2013 recipe's 14 views (flip + shift 2 px + zoom 1.08 / 1.16) on the same model and
faces (PublicTest rows of ``--data``, else synthetic 48x48 faces), two ways:

* per view: ``model.predict`` once per view over the whole set, the outputs averaged (what
  ``ferkit.evaluation.evaluate.predict`` did before views were batched);
* batched: :func:`ferkit.evaluation.evaluate.predict`, which stacks the views of each batch
  into one ``(batch x views)`` call.

Printed: images/s of each (median of ``--repeats`` timed runs after a warm-up run, so graph
tracing is not timed), the speed-up and the largest difference between their probabilities.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inference import ferkit_model, load_faces  # noqa: E402  (the inference benchmark's)

RECIPE_VIEWS = dict(flip_tta=True, shift_tta=2, zoom_tta=(1.08, 1.16))


def as_samples(images: np.ndarray, preprocessing):
    """Grey 48x48 faces as in-memory :class:`Samples` at the model's input size."""
    from ferkit.data.images import fit_image
    from ferkit.data.samples import Samples

    fitted = np.stack([fit_image(image[..., None], preprocessing.image_size,
                                 preprocessing.channels) for image in images])
    frame = pd.DataFrame({"label": np.zeros(len(fitted), int), "image_index": np.arange(len(fitted))})
    return Samples(frame=frame, classes=tuple(preprocessing.classes), images=fitted,
                   source="tta benchmark")


def predict_view_by_view(model, samples, batch_size: int, flip_tta: bool, shift_tta: int,
                         zoom_tta) -> dict[str, np.ndarray]:
    """One ``model.predict`` pass over every image per view, averaged: the unbatched way."""
    from ferkit.data.pipeline import make_dataset
    from ferkit.evaluation.evaluate import tta_views

    dataset = make_dataset(samples, batch_size=batch_size, heads=["emotion"])
    views = tta_views(flip_tta, shift_tta, zoom_tta)
    total: dict[str, np.ndarray] = {}
    for view in views:
        outputs = model.predict(dataset.map(lambda x, y, view=view: view(x)), verbose=0)
        outputs = outputs if isinstance(outputs, dict) else {"emotion": outputs}
        for head, value in outputs.items():
            total[head] = total.get(head, 0.0) + np.asarray(value, dtype="float64")
    return {head: value / len(views) for head, value in total.items()}


def timed(predict, repeats: int) -> tuple[float, dict]:
    """Median seconds of ``repeats`` calls after one warm-up call, and the last outputs."""
    outputs = predict()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        outputs = predict()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), outputs


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", help="a trained ferkit run directory")
    which.add_argument("--preset", help="a shipped ferkit preset (fer2013, ...)")
    which.add_argument("--model", default="fer_recipe", help="a registered model, untrained")
    parser.add_argument("--model-args", default="{}", help="JSON keyword arguments for --model")
    parser.add_argument("--data", help="FER2013 csv or its folder: time on PublicTest faces")
    parser.add_argument("--limit", type=int, default=1024, help="faces to predict (default 1024)")
    parser.add_argument("--batch-size", type=int, default=64,
                        help="images per batch (a batched call holds batch x 14 views)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (the median is kept)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--smoke", action="store_true", help="tiny model and few faces (tests)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.limit, args.batch_size, args.repeats = 24, 8, 1
        if not args.run and not args.preset and args.model_args == "{}":
            args.model_args = json.dumps({"widths": [4, 8], "depths": [1, 1]})
    return args


def main(argv=None) -> dict:
    from ferkit.evaluation.evaluate import predict, tta_views

    args = parse_args(argv)
    faces = load_faces(args.data, args.limit)
    model, preprocessing, label, _ = ferkit_model(args.run, args.model,
                                                  json.loads(args.model_args), args.preset)
    samples = as_samples(faces.images, preprocessing)
    views = len(tta_views(RECIPE_VIEWS["flip_tta"], RECIPE_VIEWS["shift_tta"],
                          RECIPE_VIEWS["zoom_tta"]))
    settings = dict(batch_size=args.batch_size, **RECIPE_VIEWS)
    per_view, old = timed(lambda: predict_view_by_view(model, samples, **settings), args.repeats)
    batched, new = timed(lambda: predict(model, samples, **settings), args.repeats)
    figures = {
        "model": label, "faces": faces.source, "views": views, "batch_size": args.batch_size,
        "per_view_images_per_s": len(samples) / per_view,
        "batched_images_per_s": len(samples) / batched, "speedup": per_view / batched,
        "max_probability_difference": float(max(np.abs(old[h] - new[h]).max() for h in old))}
    print(f"{label}, {faces.source}, {views}-view TTA, batch {args.batch_size}")
    print("| way | images/s |\n|---|---|")
    print(f"| one pass per view | {figures['per_view_images_per_s']:,.1f} |")
    print(f"| views batched in one pass | {figures['batched_images_per_s']:,.1f} |")
    print(f"speed-up x{figures['speedup']:.2f}; max |batched - per view| = "
          f"{figures['max_probability_difference']:.2e}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
