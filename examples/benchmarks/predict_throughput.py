"""End-to-end photo throughput: ``ferkit predict``'s path on a folder of photos, against the
``fer`` package's ``FER().detect_emotions`` on the same photos in the same run.

    python examples/benchmarks/predict_throughput.py --images path/to/photos --out runs/throughput
    python examples/benchmarks/predict_throughput.py --images path/to/photos --limit 100 \\
        --labels path/to/labels.csv --ablation --detect-sizes 160,256,1024 --out DIR

What one run measures, on the first ``--limit`` images of ``--images`` (sorted by name):

* **ferkit**: :meth:`ferkit.inference.Predictor.predict_files` then
  :func:`ferkit.inference.write_predictions`, which is what ``ferkit predict FOLDER --out DIR``
  runs (``--annotate`` adds its annotated pictures). Photos/s, and where the time goes from the
  predictor's own stage clock (:attr:`Predictor.times`): decode (the wait for the reader
  threads), detect, align/crop, model, write; ms per photo each. ``CPU ms/photo`` is the
  process's CPU time (all its threads) per photo: the cost that a busy machine does not blur.
* **fer** (``pip install --no-deps fer``): ``cv2.imread`` then ``FER().detect_emotions`` per
  photo, as its users call it (Haar faces, its quantised TFLite model). Its time splits into
  decode, detect (its ``find_faces``) and the rest of ``detect_emotions`` (crop + model). The
  ``fer`` set-up is shared with ``examples/benchmarks/in_the_wild.py``.
* ``--ablation`` adds ferkit rows that undo the speed-ups one at a time: one detector call
  per photo at full size without reader threads (the path before batching), then batched
  detection, then the reduced detection size, then the reader threads (the defaults).
  ``--detect-sizes`` adds a row per detection size (detection rate against speed).
* ``--int8 path/to/fer2013`` adds a row with the preset's int8 TFLite model (written here by
  :func:`ferkit.export.write_tflite`, calibrated on 300 FER2013 ``Training`` rows of that
  folder, picked as ``inference.py`` picks them) in place of its Keras model: what ``ferkit predict --run RUN --model-file
  RUN/export/model_int8.tflite`` runs for a trained run.
* With ``--labels`` (a ``labels.csv`` of ``image,emotion``, as in_the_wild's data), each row's
  accuracy: the largest face's label against the photo's (no face counts as wrong).

Every setting first predicts ``--warmup`` photos, then half of them, untimed (model load,
graph tracing for two batch shapes, after which Keras reuses one graph for any batch size). Writes
``throughput.json`` and ``table.md`` (also printed) under ``--out``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

IN_THE_WILD = Path(__file__).with_name("in_the_wild.py")
INFERENCE = Path(__file__).with_name("inference.py")
STAGE_COLUMNS = ("decode", "detect", "align/crop", "model", "write")
COLUMNS = ("pipeline", "setting", "photos", "photos/s", "CPU ms/photo", "with a face", "faces",
           "accuracy", *(f"{s} ms" for s in STAGE_COLUMNS))


def sibling_script(path: Path):
    """The benchmark script at ``path`` as a module (loaded once)."""
    if path.stem not in sys.modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
    return sys.modules[path.stem]


def shared_helpers():
    """``in_the_wild.py`` as a module: fer's set-up, label names, scoring and tables."""
    return sibling_script(IN_THE_WILD)


# --------------------------------------------------------------------------- ferkit
def ferkit_settings(ablation: bool, detect_sizes: Sequence[int]) -> dict[str, dict]:
    """Setting name -> Predictor speed options (``one_by_one``: no batched detection)."""
    from ferkit.inference.predictor import (DEFAULT_BATCH_SIZE, DEFAULT_DETECT_SIZE,
                                            DEFAULT_WORKERS)

    full = {"detect_size": 1024, "workers": 0, "batch_size": DEFAULT_BATCH_SIZE}
    settings = {}
    if ablation:
        settings["one detector call per photo, full size, no threads"] = {**full, "one_by_one": True}
        settings["+ batched detection"] = full
        settings[f"+ detect size {DEFAULT_DETECT_SIZE}"] = {**full, "detect_size": DEFAULT_DETECT_SIZE}
    settings[f"defaults (batch {DEFAULT_BATCH_SIZE}, {DEFAULT_WORKERS} workers, detect size "
             f"{DEFAULT_DETECT_SIZE})"] = {}
    for size in detect_sizes:
        settings[f"detect size {size}"] = {"detect_size": size}
    return settings


def one_photo_per_call(detector):
    """``detector`` without its batched :meth:`detect_many` (one call per photo)."""
    from ferkit.data.cleaning.detectors import FaceDetector

    class OneByOne(FaceDetector):
        name = detector.name

        def __call__(self, rgb):
            return detector(rgb)

    return OneByOne()


def int8_preset(preset: str, fer2013: str | Path, out: Path, count: int = 300) -> Path:
    """The preset as an int8 TFLite file in ``out``, calibrated on ``count`` FER2013 Training
    rows chosen as ``inference.py`` chooses them."""
    from ferkit.export import write_tflite
    from ferkit.models.pretrained import load_preset

    inference = sibling_script(INFERENCE)
    model, preprocessing = load_preset(preset)
    source = inference.Calibration(preset=preset, data=str(fer2013), count=count)
    calibration, _ = inference.calibration_images(source, preprocessing)
    out.mkdir(parents=True, exist_ok=True)
    return write_tflite(model, out / f"{preset}_int8.tflite", quantize="int8",
                        calibration=calibration)


def run_ferkit(preset: str, paths: list[Path], options: dict, out: Path, *, warmup: int,
               annotate: bool) -> tuple[dict, pd.DataFrame]:
    """Photos/s and the stage times of ``predict_files`` + ``write_predictions``."""
    from ferkit.data.cleaning.detectors import as_detector
    from ferkit.inference import Predictor
    from ferkit.inference.predictor import ANNOTATED_FOLDER, write_predictions
    from ferkit.models.pretrained import load_preset
    from ferkit.models.tflite import TFLiteModel

    options = dict(options)
    one_by_one = options.pop("one_by_one", False)
    tflite = options.pop("tflite", None)
    if tflite is None:
        predictor = Predictor.from_preset(preset, **options)
    else:
        predictor = Predictor.from_model(TFLiteModel(tflite), load_preset(preset)[1],
                                         source=str(tflite), **options)
    if one_by_one:
        predictor.detector = one_photo_per_call(as_detector(None))
    for count in (warmup, warmup // 2):   # two batch shapes: later shapes reuse the graph
        predictor.predict_files(paths[:count], on_unreadable="report", progress=False)
    predictor.times.reset()
    start, cpu = time.perf_counter(), time.process_time()
    frame = predictor.predict_files(paths, annotate_to=out / ANNOTATED_FOLDER if annotate else None,
                                    on_unreadable="report", progress=False)
    with predictor.times.timing("write"):
        write_predictions(frame, out)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    stages = {f"{s} ms": 1000 * predictor.times.seconds[s] / len(paths) for s in STAGE_COLUMNS}
    return {"pipeline": "ferkit", "seconds": seconds, "cpu_seconds": cpu, **stages}, frame


def ferkit_labels(frame: pd.DataFrame, paths: list[Path]) -> list[str]:
    """Each photo's largest face's label as a dataset label ("no face" without one)."""
    helpers = shared_helpers()
    faces = frame[frame["status"] == "ok"].sort_values("face").drop_duplicates("file")
    labels = {file: helpers.LABEL_NAMES.get(label, label)
              for file, label in zip(faces["file"], faces["label"])}
    return [labels.get(str(path), helpers.NO_FACE) for path in paths]


# --------------------------------------------------------------------------- fer
def run_fer(paths: list[Path], *, warmup: int) -> tuple[dict, list[str], list[int]]:
    """fer's ``detect_emotions`` per photo: photos/s, stage times, labels, faces per photo."""
    import cv2

    helpers = shared_helpers()
    fer = helpers.fer_detector()
    find_faces, detect_seconds = fer.find_faces, [0.0]

    def timed_find_faces(*args, **kwargs):
        begin = time.perf_counter()
        try:
            return find_faces(*args, **kwargs)
        finally:
            detect_seconds[0] += time.perf_counter() - begin

    for path in paths[:warmup]:
        fer.detect_emotions(cv2.imread(str(path)))
    fer.find_faces = timed_find_faces
    decode = 0.0
    labels, counts = [], []
    start, cpu = time.perf_counter(), time.process_time()
    try:
        for path in paths:
            begin = time.perf_counter()
            bgr = cv2.imread(str(path))
            decode += time.perf_counter() - begin
            found = fer.detect_emotions(bgr) if bgr is not None else []
            labels.append(_fer_label(found, helpers))
            counts.append(len(found))
    finally:
        del fer.find_faces
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    rest = seconds - decode - detect_seconds[0]
    stages = {"decode ms": decode, "detect ms": detect_seconds[0], "model ms": rest}
    row = {"pipeline": "fer", "setting": "FER().detect_emotions (Haar, quantised TFLite)",
           "seconds": seconds, "cpu_seconds": cpu,
           **{k: 1000 * v / len(paths) for k, v in stages.items()},
           "note": "model ms: the rest of detect_emotions (crop, resize, model)"}
    return row, labels, counts


def _fer_label(found: list[dict], helpers) -> str:
    """The top emotion of fer's largest face (ties: fer's label order)."""
    if not found:
        return helpers.NO_FACE
    largest = max(found, key=lambda item: item["box"][2] * item["box"][3])
    emotions = largest["emotions"]
    return helpers.LABEL_NAMES[max(helpers.FER_CLASSES, key=lambda name: emotions[name])]


# --------------------------------------------------------------------------- the run
def photo_paths(images: str | Path, limit: int | None) -> list[Path]:
    from ferkit.inference import image_files

    paths = image_files(images)
    return paths[:limit] if limit else paths


def photo_labels(labels: str | Path | None, paths: list[Path]) -> np.ndarray | None:
    """The dataset label of each photo from ``labels.csv`` (``image,emotion``), or None."""
    if labels is None:
        return None
    table = pd.read_csv(labels)
    if not {"image", "emotion"} <= set(table.columns):
        raise ValueError(f"{labels}: needs columns image,emotion; has {list(table.columns)}")
    by_name = dict(zip(table["image"], table["emotion"]))
    missing = [p.name for p in paths if p.name not in by_name]
    if missing:
        raise ValueError(f"{labels}: no label for {len(missing)} photo(s), e.g. {missing[0]}")
    return np.array([by_name[p.name] for p in paths], dtype=object)


def scored(row: dict, photos: int, predicted: list[str], truth: np.ndarray | None,
           label_set: Sequence[str]) -> dict:
    """``row`` with photos/s, detection counts and (with labels) accuracy."""
    helpers = shared_helpers()
    row = {**row, "photos": photos, "photos/s": photos / row["seconds"],
           "CPU ms/photo": 1000 * row["cpu_seconds"] / photos,
           "with a face": sum(label != helpers.NO_FACE for label in predicted)}
    if truth is not None:
        row["accuracy"] = helpers.score(truth, predicted, label_set)["accuracy"]
    return row


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, help="a folder of photos (path/to/photos)")
    parser.add_argument("--out", default="runs/predict_throughput",
                        help="folder for throughput.json, table.md and ferkit's predictions")
    parser.add_argument("--limit", type=int, help="only the first N photos (sorted by name)")
    parser.add_argument("--labels", help="labels.csv (image,emotion) for an accuracy column")
    parser.add_argument("--preset", default="fer2013", help="the ferkit preset (default fer2013)")
    parser.add_argument("--ablation", action="store_true",
                        help="add rows that undo the speed-ups one at a time")
    parser.add_argument("--detect-sizes", default="",
                        help="comma-separated detection sizes, a ferkit row each")
    parser.add_argument("--annotate", action="store_true",
                        help="ferkit also writes its annotated pictures (ferkit predict --out)")
    parser.add_argument("--warmup", type=int, default=16, help="untimed photos per setting")
    parser.add_argument("--no-fer", action="store_true", help="skip the fer package")
    parser.add_argument("--int8", metavar="FER2013",
                        help="add a row with the preset's int8 TFLite model, calibrated on "
                             "FER2013 Training rows of this folder or csv")
    args = parser.parse_args(argv)
    try:
        args.detect_sizes = [int(v) for v in args.detect_sizes.split(",") if v.strip()]
    except ValueError:
        parser.error(f"--detect-sizes: expected whole numbers, got {args.detect_sizes!r}")
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be >= 1, got {args.limit}")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    helpers = shared_helpers()
    out = Path(args.out)
    paths = photo_paths(args.images, args.limit)
    truth = photo_labels(args.labels, paths)
    use_fer = helpers.fer_available() and not args.no_fer
    print(f"{len(paths)} photos from {args.images}; fer: "
          f"{'yes' if use_fer else 'skipped' if args.no_fer else 'not installed'}", flush=True)
    rows = []
    from ferkit.models.pretrained import preset_info

    classes = preset_info(args.preset).classes
    ferkit_label_set = tuple(sorted({helpers.LABEL_NAMES[c] for c in classes
                                     if c in helpers.LABEL_NAMES}))
    settings = ferkit_settings(args.ablation, args.detect_sizes)
    if args.int8:
        settings["defaults, int8 TFLite model"] = {"tflite": int8_preset(args.preset, args.int8,
                                                                        out / "int8")}
    for index, (setting, options) in enumerate(settings.items()):
        row, frame = run_ferkit(args.preset, paths, options, out / f"ferkit_{index}",
                                warmup=args.warmup, annotate=args.annotate)
        row = scored({**row, "setting": setting}, len(paths),
                     ferkit_labels(frame, paths), truth, ferkit_label_set)
        rows.append({**row, "faces": int((frame["status"] == "ok").sum())})
        print(f"  ferkit, {setting}: {row['photos/s']:.1f} photos/s", flush=True)
    if use_fer:
        row, labels, counts = run_fer(paths, warmup=args.warmup)
        fer_set = tuple(sorted({helpers.LABEL_NAMES[c] for c in helpers.FER_CLASSES}))
        rows.append({**scored(row, len(paths), labels, truth, fer_set), "faces": sum(counts)})
        print(f"  fer: {rows[-1]['photos/s']:.1f} photos/s", flush=True)
    return write_report(rows, args, out, len(paths))


def speedup(rows: list[dict]) -> float | None:
    """ferkit's default setting's photos/s over fer's (None without fer)."""
    fer = next((r for r in rows if r["pipeline"] == "fer"), None)
    ours = next((r for r in rows if r["setting"].startswith("defaults")), None)
    return None if fer is None or ours is None else ours["photos/s"] / fer["photos/s"]


def write_report(rows: list[dict], args: argparse.Namespace, out: Path, photos: int) -> dict:
    helpers = shared_helpers()
    ratio = speedup(rows)
    text = helpers.markdown(rows, COLUMNS)
    if ratio is not None:
        text += (f"\n\nferkit (defaults) runs at {ratio:.2f}x fer's photos/s on the same "
                 f"{photos} photos (goal: >= 2x).")
    print(text)
    summary = {"images": str(args.images), "photos": photos, "preset": args.preset,
               "annotate": args.annotate, "machine": {"cpu": helpers._cpu_name(),
                                                      "platform": platform.platform()},
               "date": time.strftime("%Y-%m-%d", time.gmtime()),
               "speedup_over_fer": ratio, "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(summary, indent=1))
    (out / "table.md").write_text(text + "\n")
    return summary


if __name__ == "__main__":
    main()
