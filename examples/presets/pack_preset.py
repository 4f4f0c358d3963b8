"""Pack a finished ferkit run into a shipped preset (how ferkit/models/weights/ is made).

    python examples/presets/pack_preset.py --run runs/fer2013 --name fer2013 \\
        --training-data "FER2013 Training (90 %)" --command "ferkit train --config ..." \\
        --data path/to/fer2013

Writes ``NAME.weights.npz`` (float16, except ``--keep-float32`` variables) into ``--out``
(default: the package's ``ferkit/models/weights/``) and its entry in ``presets.json``. With
``--data`` (or the data path of the run's config), it scores the packed preset on the run's
``test`` rows (``splits.csv``; rows with ``test_has_train_duplicate`` also de-duplicated) and
compares it with the run's float32 ``model.keras`` (the parity figures of the manifest).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from ferkit.data.sources import load_from_config
from ferkit.evaluation.selection import match_classes
from ferkit.config import load_config
from ferkit.models.loading import load_run_model
from ferkit.models.pretrained import LICENCE, WEIGHTS_DIR, load_preset, pack_preset, preset_info
from ferkit.models.registry import build
from ferkit.runs import RunDir, load_preprocessing, read_json
from ferkit.training.engine import HeadSizes, model_arguments

#: Columns that name a sample in both the run's splits.csv and freshly loaded samples.
KEY_COLUMNS = ("row", "path")
DEDUP_COLUMN = "test_has_train_duplicate"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="finished run directory")
    parser.add_argument("--name", required=True, help="preset name (e.g. fer2013)")
    parser.add_argument("--training-data", required=True, help="what the model was trained on")
    parser.add_argument("--command", required=True, help="the command that trained the run")
    parser.add_argument("--dataset", required=True,
                        help="the dataset's name for the licence note (FER2013, FER+, CK+)")
    parser.add_argument("--description", default="", help="one line about the preset")
    parser.add_argument("--out", default=str(WEIGHTS_DIR), help="presets folder")
    parser.add_argument("--data", help="dataset path for the parity check (default: the run "
                                       "config's data.path; none: no check)")
    parser.add_argument("--keep-float32", nargs="*", default=[], metavar="SUFFIX",
                        help="variables whose path ends with SUFFIX stay float32")
    parser.add_argument("--trained-seconds", type=float,
                        help="training time to record (default: run.json's seconds)")
    return parser.parse_args(argv)


def run_config(run_dir: Path, data: str | None):
    """The run's config reading ``data`` (default: its own path), without the FER+ votes."""
    overrides = ["data.ferplus_mix=0.0", "data.ferplus_aux=false"]
    return load_config(run_dir / RunDir.CONFIG, overrides + ([f"data.path={data}"] if data else []))


def run_figures(run: RunDir) -> dict[str, float]:
    """The run's own test figures (metrics.json), under ``run_test_*``."""
    metrics = read_json(run / RunDir.METRICS)
    keys = ("emotion_accuracy", "emotion_macro_f1", "au_micro_f1", "au_macro_f1")
    return {f"run_test_{k}": float(metrics[k]) for k in keys if k in metrics}


def test_samples(run: RunDir, data: str):
    """The run's test rows, loaded as in training, and whether each has a Training duplicate."""
    config = run_config(run.path, data)
    with tempfile.TemporaryDirectory() as workdir:
        samples = load_from_config(config.data, workdir, config.seed)
    splits = pd.read_csv(run / RunDir.SPLITS, low_memory=False)
    key = next(k for k in KEY_COLUMNS if k in splits.columns and k in samples.frame.columns)
    chosen = splits[splits["split"] == "test"]
    where = pd.Index(samples.frame[key].astype(str)).get_indexer(chosen[key].astype(str))
    if (where < 0).any():
        raise ValueError(f"{run / RunDir.SPLITS}: {int((where < 0).sum())} test rows are not in {data}")
    samples = match_classes(samples.subset(where), load_preprocessing(run).classes, run.path)
    duplicated = chosen.get(DEDUP_COLUMN, pd.Series(False, index=chosen.index))
    return samples, duplicated.astype(str).str.lower().eq("true").to_numpy()


def scores(probabilities: np.ndarray, labels: np.ndarray, keep: np.ndarray) -> dict[str, float]:
    predicted = probabilities.argmax(axis=1)
    return {"accuracy": float((predicted[keep] == labels[keep]).mean()),
            "macro_f1": float(f1_score(labels[keep], predicted[keep], average="macro"))}


def emotion_probabilities(model, images: np.ndarray, pixel_divisor: float) -> np.ndarray:
    outputs = model.predict(images.astype(np.float32) / np.float32(pixel_divisor),
                            batch_size=256, verbose=0)
    return np.asarray(outputs["emotion"] if isinstance(outputs, dict) else outputs)


def float32_copy(model, builder: str, builder_args: dict):
    """The architecture built in float32 with the run's exact weights: what the preset would
    be without float16 storage (a run trained in mixed precision computes in bfloat16)."""
    copy = build(builder, **builder_args)
    by_path = {variable.path: variable for variable in model.weights}
    for variable in copy.weights:
        variable.assign(np.asarray(by_path[variable.path].numpy(), dtype=np.float32))
    return copy


def parity(run: RunDir, original_model, name: str, out: Path, data: str) -> tuple[dict, dict]:
    """Accuracy figures of the packed preset and of the run's weights in float32 on the test
    rows (the difference is float16 storage alone), and of the model as trained."""
    samples, duplicated = test_samples(run, data)
    labels, everything = samples.labels, np.ones(len(samples), bool)
    images = samples.images[samples.frame["image_index"].to_numpy()]
    preset, preprocessing = load_preset(name, out)
    info = preset_info(name, out)
    packed = emotion_probabilities(preset, images, preprocessing.pixel_divisor)
    original = emotion_probabilities(float32_copy(original_model, info.builder,
                                                  info.builder_args),
                                     images, preprocessing.pixel_divisor)
    as_trained = emotion_probabilities(original_model, images, preprocessing.pixel_divisor)
    figures, report = {}, {"test_images": int(len(samples)),
                           "test_images_deduplicated": int((~duplicated).sum())}
    for subset, keep in (("test", everything), ("test_dedup", ~duplicated)):
        if subset == "test_dedup" and not duplicated.any():
            continue
        for metric, value in scores(packed, labels, keep).items():
            figures[f"{subset}_{metric}"] = value
        for metric, value in scores(original, labels, keep).items():
            report[f"float32_{subset}_{metric}"] = value
        for metric, value in scores(as_trained, labels, keep).items():
            report[f"as_trained_{subset}_{metric}"] = value
    report["accuracy_difference_points"] = 100 * (figures["test_accuracy"]
                                                  - report["float32_test_accuracy"])
    report["max_probability_difference"] = float(np.abs(packed - original).max())
    report["label_agreement"] = float((packed.argmax(1) == original.argmax(1)).mean())
    return figures, report


def main(argv=None) -> int:
    args = parse_args(argv)
    run = RunDir(args.run).require_complete()
    record = run.read_run()
    config = run_config(run.path, args.data)
    preprocessing = load_preprocessing(run)
    builder_args = model_arguments(config, HeadSizes(len(preprocessing.classes),
                                                     len(preprocessing.aus)))
    model = load_run_model(run.path)
    if "ferplus" in (model.output if isinstance(model.output, dict) else {}):
        builder_args["ferplus_classes"] = int(model.output["ferplus"].shape[-1])
    out = Path(args.out)
    seconds = args.trained_seconds or record.get("seconds")
    command = args.command + (f"  # {seconds / 60:.0f} min training" if seconds else "")
    common = dict(training_data=args.training_data, command=command,
                  description=args.description, keep_float32=args.keep_float32,
                  licence=LICENCE.format(data=args.dataset))
    info = pack_preset(model, preprocessing, args.name, config.model.name, builder_args, out,
                       accuracy=run_figures(run), **common)
    data = config.data.path
    if data:
        figures, report = parity(run, model, args.name, out, data)
        info = pack_preset(model, preprocessing, args.name, config.model.name, builder_args, out,
                           accuracy={**info.accuracy, **figures}, parity=report, **common)
    print(json.dumps(info.to_json(), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
