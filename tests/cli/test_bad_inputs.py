"""The bad-input corpus: every bad file or option a one-line named error, exit code 2.

Each case writes its bad input into ``tmp_path``, runs ``ferkit`` in-process through
:func:`ferkit.cli.main` and checks the exit code, that no traceback is printed, that stderr is
the one line ``ferkit CMD: error: ...`` (argparse's own errors keep their usage line above
it), and that the line names what is wrong (file, key, value, problem). Cases that need a
trained run copy the session's tiny run (``tiny_run`` in conftest) and break the copy.
"""
from __future__ import annotations

import dataclasses
import errno
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from ferkit.cli import main
from ferkit.data import synthetic
from ferkit.runs import RunDir

#: Two synthetic class folders, three 48x48 faces each.
CLASSES = {"Happy": "happy", "Sad": "sadness"}
#: A tiny model and one quiet epoch: a case that wrongly gets as far as training ends fast.
TINY_TRAIN = {"model": {"args": {"filters": [4], "blocks": [1], "stem_filters": 4}},
              "train": {"epochs": 1, "jit_compile": False, "verbose": 0}, "augment": None}
#: Per-image splits: the class folders have no subject column.
STRATIFIED = {"method": "stratified", "fractions": [0.34, 0.33, 0.33]}
#: Longest error line accepted: a message that dumps a whole value (a YAML bomb) is a bug.
MAX_LINE = 2000


class Inputs:
    """What a case builder may use: its own folder and, on demand, a copy of the tiny run."""

    def __init__(self, folder: Path, request, monkeypatch):
        self.folder = folder
        self._request = request
        self.monkeypatch = monkeypatch

    def path(self, name: str) -> Path:
        return self.folder / name

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def folders(self, name: str = "faces") -> Path:
        return synthetic.write_class_folders(self.folder / name, CLASSES, n_per_class=3,
                                             size=48, seed=0, n_subjects=2)

    def fer2013_gz(self) -> Path:
        return synthetic.write_fer2013(self.folder / "fer", n=12, seed=0, n_subjects=3,
                                       with_ferplus=False)

    def fer2013_lines(self) -> list[str]:
        with gzip.open(self.fer2013_gz(), "rt", encoding="utf-8") as stream:
            return stream.read().splitlines()

    def fer2013_csv(self, lines: list[str]) -> Path:
        return self.write("fer_plain/fer2013.csv", "\n".join(lines) + "\n")

    def config(self, data: dict | None = None, **sections) -> Path:
        """A train config for the tiny model (``data`` default: the synthetic class folders)."""
        import yaml

        data = data if data is not None else {"source": "folders", "path": str(self.folders())}
        raw = {"name": "bad_input", **TINY_TRAIN, "data": data, "split": STRATIFIED, **sections}
        return self.write("config.yaml", yaml.safe_dump(raw))

    def run(self) -> Path:
        """A private copy of the session's tiny trained run, free to break."""
        copy = self.folder / "run"
        if not copy.exists():
            shutil.copytree(self._request.getfixturevalue("tiny_run"), copy)
        return copy

    def run_data(self) -> str:
        """The CK+ tree the tiny run was trained on."""
        return str(self._request.getfixturevalue("ckplus_full"))

    def regular_file(self) -> Path:
        """A plain file, so ``<it>/sub`` can never be created (not even by root)."""
        return self.write("plain_file", "not a folder\n")


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input: ``build`` writes it and returns the argv after ``ferkit``.

    ``words`` are regular expressions the error line must match (case-insensitive);
    ``absent`` ones it must not; ``after`` checks the folder once the command has failed.
    ``usage`` marks errors argparse reports (its usage line comes first).
    """

    id: str
    build: Callable[[Inputs], list[str]]
    words: tuple[str, ...]
    absent: tuple[str, ...] = ()
    after: Callable[[Inputs], None] | None = None
    usage: bool = False


# ----------------------------------------------------------------------------- builders
def train_setting(*overrides: str) -> Callable[[Inputs], list[str]]:
    def build(inp: Inputs) -> list[str]:
        argv = ["train", "--config", str(inp.config()), "--out", str(inp.path("out"))]
        for override in overrides:
            argv += ["--set", override]
        return argv
    return build


def train_config_text(content: str | bytes) -> Callable[[Inputs], list[str]]:
    return lambda inp: ["train", "--config", str(inp.write("config.yaml", content)),
                        "--out", str(inp.path("out"))]


def train_on(source: str, make_path: Callable[[Inputs], Path], **data) -> Callable:
    def build(inp: Inputs) -> list[str]:
        config = inp.config({"source": source, "path": str(make_path(inp)), **data})
        return ["train", "--config", str(config), "--out", str(inp.path("out"))]
    return build


def inspect(make_path: Callable[[Inputs], Path]) -> Callable[[Inputs], list[str]]:
    return lambda inp: ["data", "inspect", str(make_path(inp)), "--out", str(inp.path("out")),
                        "--no-duplicates"]


def empty_folder(name: str) -> Callable[[Inputs], Path]:
    def make(inp: Inputs) -> Path:
        inp.path(name).mkdir()
        return inp.path(name)
    return make


def folders_with(name: str, content: bytes) -> Callable[[Inputs], Path]:
    """Class folders with one more file ``Happy/<name>`` holding ``content``."""
    def make(inp: Inputs) -> Path:
        root = inp.folders()
        (root / "Happy" / name).write_bytes(content)
        return root
    return make


def truncated_png(inp: Inputs) -> Path:
    root = inp.folders()
    good = sorted((root / "Happy").glob("*.png"))[0].read_bytes()
    (root / "Happy" / "cut.png").write_bytes(good[: len(good) // 2])
    return root


def truncated_gz(inp: Inputs) -> Path:
    csv = inp.fer2013_gz()
    content = csv.read_bytes()
    csv.write_bytes(content[: len(content) // 2])
    return csv


def fer2013_row_edit(edit: Callable[[list[str]], list[str]]) -> Callable[[Inputs], Path]:
    return lambda inp: inp.fer2013_csv(edit(inp.fer2013_lines()))


def short_pixels(lines: list[str]) -> list[str]:
    emotion, pixels, usage = lines[2].split(",")
    lines[2] = ",".join([emotion, " ".join(pixels.split()[:-1]), usage])  # 2303 values
    return lines


def bad_emotion_code(lines: list[str]) -> list[str]:
    lines[1] = "9" + lines[1][lines[1].index(","):]
    return lines


def drop_pixels_column(lines: list[str]) -> list[str]:
    return ["emotion,Usage"] + [f"{row.split(',')[0]},{row.split(',')[2]}" for row in lines[1:]]


def fer2013_not_utf8(inp: Inputs) -> Path:
    path = inp.fer2013_csv(inp.fer2013_lines())
    path.write_bytes(path.read_bytes().replace(b"Training", b"Tr\xff\xfening", 1))
    return path


def manifest(rows: list[tuple[str, str]], header: str = "path,label") -> Callable:
    """A manifest CSV beside the class folders; a row's path is relative to it."""
    def make(inp: Inputs) -> Path:
        inp.folders()
        body = "".join(f"{path},{label}\n" for path, label in rows)
        return inp.write("manifest.csv", f"{header}\n{body}")
    return make


def manifest_of_faces(labels: list[str], paths: Callable[[list[str]], list[str]] = None,
                      extra: list[tuple[str, str]] = ()) -> Callable[[Inputs], Path]:
    """A manifest listing the real face files with ``labels`` (and ``extra`` rows)."""
    def make(inp: Inputs) -> Path:
        root = inp.folders()
        files = [str(p.relative_to(inp.folder)) for p in sorted(root.glob("*/*.png"))]
        files = paths(files) if paths else files
        rows = list(zip(files, labels)) + list(extra)
        return inp.write("manifest.csv", "path,label\n" + "".join(f"{p},{l}\n" for p, l in rows))
    return make


def ck48_with_orphan_facs(inp: Inputs) -> Path:
    root = synthetic.write_ckplus(inp.path("ck48"), layout="ck48", n_subjects=2,
                                  sequences_per_subject=7, frames_per_sequence=2, seed=0)
    inp.write("ck48/FACS/S509/001/S509_001_00000002_facs.txt", "   1.0000000e+00   2.0000000e+00\n")
    return root


def yaml_bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 7):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\ndata:\n  image_size: *a6\n"


def run_command(command: str, *options: str, data: bool = False,
                damage: Callable[[Path], None] | None = None) -> Callable[[Inputs], list[str]]:
    """``ferkit COMMAND <copy of the tiny run> OPTIONS`` after ``damage`` broke the copy."""
    def build(inp: Inputs) -> list[str]:
        run = inp.run()
        if damage:
            damage(run)
        argv = [command, str(run), *[o.replace("{tmp}", str(inp.folder)) for o in options]]
        return argv + (["--data", inp.run_data()] if data else [])
    return build


def predict_with_run(make_input: Callable[[Inputs], Path], *options: str) -> Callable:
    return lambda inp: ["predict", "--run", str(inp.run()), str(make_input(inp)), "--quiet",
                        *options]


def not_a_keras_archive(run: Path) -> None:
    (run / RunDir.MODEL).write_text("this is not a zip archive\n")


def newer_run_format(run: Path) -> None:
    record = json.loads((run / RunDir.RUN).read_text())
    (run / RunDir.RUN).write_text(json.dumps({**record, "version": 99}))


def broken_older_run(run: Path) -> None:
    """An old run (no preprocessing.json) whose run.json lost its class list."""
    (run / RunDir.PREPROCESSING).unlink()
    record = json.loads((run / RunDir.RUN).read_text())
    record.pop("classes", None)
    (run / RunDir.RUN).write_text(json.dumps(record))


def overwrite(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda run: (run / name).write_bytes(content)


def corrupt_run_json(run: Path) -> None:
    (run / RunDir.RUN).write_text('{"format": "ferkit-run", ')


def missing_run_json(run: Path) -> None:
    (run / RunDir.RUN).unlink()


def first_face(inp: Inputs) -> Path:
    return sorted((inp.folders() / "Happy").glob("*.png"))[0]


def text_as(name: str) -> Callable[[Inputs], Path]:
    return lambda inp: inp.write(name, "plain text, not media\n")


def disk_full(inp: Inputs) -> None:
    """From now on every flush to disk fails with ENOSPC, as on a full disk."""
    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    inp.monkeypatch.setattr(os, "fsync", no_space)


def report_on_full_disk(inp: Inputs) -> list[str]:
    run = inp.run()
    disk_full(inp)
    return ["report", str(run), "--out", str(inp.path("report_out/report.html"))]


def evaluate_on_full_disk(inp: Inputs) -> list[str]:
    argv = run_command("evaluate", "--out", str(inp.path("eval_out")), data=True)(inp)
    disk_full(inp)
    return argv


def nothing_half_written(folder: str, *, markers: tuple[str, ...] = ()) -> Callable:
    """After a failed write: no temporary file left in ``folder``, and none of ``markers``
    (the files that say the output is complete)."""
    def check(inp: Inputs) -> None:
        root = inp.path(folder)
        left = sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []
        stale = [name for name in left if name.endswith(".tmp") or Path(name).name in markers]
        assert not stale, f"a failed write left {stale} behind (all: {left})"
    return check


def no_code_ran(inp: Inputs) -> None:
    assert not inp.path("PWNED").exists(), "a !!python/object tag ran code"


def tune_command(inp: Inputs) -> list[str]:
    return ["tune", "--config", str(inp.config()), "--out", str(inp.path("out")), "--quiet"]


# ----------------------------------------------------------------------------- the corpus
CASES = [
    # config files and --set values
    Case("train-config-missing", lambda inp: ["train", "--config", str(inp.path("nope.yaml"))],
         ("nope.yaml", "does not exist")),
    Case("train-config-malformed-yaml", train_config_text("train: [epochs, 3\n"),
         ("config.yaml", "yaml")),
    Case("train-config-not-utf8", train_config_text(b"name: caf\xe9\xff\ntrain: {}\n"),
         ("config.yaml", "utf-?8")),
    Case("train-config-yaml-bomb", train_config_text(yaml_bomb()), ("config.yaml",)),
    Case("train-config-python-object-tag",
         lambda inp: train_config_text(
             f"name: !!python/object/apply:os.system ['touch {inp.path('PWNED')}']\n")(inp),
         ("config.yaml",), after=no_code_ran),
    Case("train-config-not-a-mapping", train_config_text("- just\n- a list\n"), ("config.yaml",)),
    Case("train-batch-size-zero", train_setting("train.batch_size=0"),
         ("train.batch_size", r"\b0\b"), absent=("InvalidArgument",)),
    Case("train-epochs-negative", train_setting("train.epochs=-1"), ("train.epochs", "-1"),
         absent=("No columns to parse",)),
    Case("train-learning-rate-negative", train_setting("train.learning_rate=-0.01"),
         ("train.learning_rate", "-0.01")),
    Case("train-unknown-set-key", train_setting("train.epoch=3"), ("train.epoch", "unknown")),
    Case("train-set-without-value", train_setting("train.epochs"),
         ("train.epochs", "section.key=value")),
    Case("train-bad-value-type", train_setting("train.batch_size=big"),
         ("train.batch_size", "'big'")),
    Case("train-unknown-source", train_setting("data.source=tfrecords"),
         ("data.source", "tfrecords")),
    Case("train-image-size-zero", train_setting("data.image_size=[0, 48]"),
         ("data.image_size", r"\b0\b")),
    Case("train-split-fractions-out-of-range", train_setting("split.fractions=[1.5, 0.2, 0.2]"),
         ("split.fractions", "1.5")),
    Case("train-val-fraction-out-of-range",
         train_setting("split.method=predefined", "split.val_fraction=1.5"),
         ("split.val_fraction", "1.5")),
    Case("train-zoom-tta-below-one", train_setting("evaluate.zoom_tta=[0.9]"),
         ("evaluate.zoom_tta", "0.9")),
    Case("train-unknown-strategy", lambda inp: train_setting()(inp) + ["--strategy", "tpu_pod"],
         ("train.strategy", "tpu_pod")),
    Case("train-config-is-a-folder",
         lambda inp: ["train", "--config", str(inp.folders()), "--out", str(inp.path("out"))],
         ("faces", "folder|not a file"), absent=("does not exist",)),
    Case("train-data-option-missing", lambda inp: train_setting()(inp) + [
        "--data", str(inp.path("gone_data"))], ("gone_data", "does not exist")),
    Case("train-unknown-tuner", train_setting("tune.tuner=genetic"), ("tune.tuner", "genetic")),
    Case("train-unknown-model", train_setting("model.name=no_such_net"), ("no_such_net",)),
    # datasets read by train
    Case("train-data-folder-missing", train_on("folders", lambda inp: inp.path("no_faces")),
         ("no_faces", "does not exist")),
    Case("train-data-folder-empty", train_on("folders", empty_folder("empty")),
         ("empty", "no class folders")),
    Case("train-zero-byte-image", train_on("folders", folders_with("blank.png", b"")),
         ("blank.png",)),
    Case("train-truncated-png", train_on("folders", truncated_png), ("cut.png",)),
    Case("train-label-map-unknown-class",
         train_on("folders", lambda inp: inp.folders(), label_map={"Happy": "happiness"}),
         ("label_map", "Sad")),
    Case("train-truncated-fer2013-gz", train_on("fer2013", truncated_gz),
         ("fer2013.csv.gz", "truncated|ended|corrupt|incomplete"), absent=("EOFError",)),
    Case("train-fer2013-wrong-image-size", train_on("fer2013", fer2013_row_edit(short_pixels)),
         ("fer2013.csv", r"row \d", "2303")),
    Case("train-manifest-missing-image",
         train_on("manifest", manifest_of_faces(["happy"] * 3 + ["sad"] * 3,
                                                extra=[("faces/Happy/gone.png", "happy")])),
         ("manifest.csv", "gone.png")),
    Case("train-manifest-empty-label",
         train_on("manifest", manifest_of_faces(["happy", "", "happy", "sad", "sad", "sad"])),
         ("manifest.csv", "row 2", "label")),
    Case("train-manifest-nan-label",
         train_on("manifest", manifest_of_faces(["happy", "happy", "NaN", "sad", "sad", "sad"])),
         ("manifest.csv", "row 3", "label")),
    Case("train-manifest-duplicated-file-names",
         train_on("manifest", manifest_of_faces(["happy"] * 3 + ["sad"] * 4,
                                                paths=lambda files: files + files[-1:])),
         ("manifest.csv", "duplicate", r"\.png")),
    Case("train-ck48-facs-for-missing-image", train_on("ckplus", ck48_with_orphan_facs),
         ("S509_001",)),
    # datasets read by data inspect
    Case("inspect-path-missing", inspect(lambda inp: inp.path("nowhere")), ("nowhere",)),
    Case("inspect-empty-folder", inspect(empty_folder("empty")),
         ("empty",)),
    Case("inspect-truncated-fer2013-gz", inspect(truncated_gz),
         ("fer2013.csv.gz", "truncated|ended|corrupt|incomplete"), absent=("EOFError",)),
    Case("inspect-fer2013-empty-csv", inspect(lambda inp: inp.write("fer_plain/fer2013.csv", "")),
         ("fer2013.csv", "empty")),
    Case("inspect-fer2013-missing-column",
         inspect(lambda inp: fer2013_row_edit(drop_pixels_column)(inp).parent),
         ("fer2013.csv", "pixels")),
    Case("inspect-fer2013-unknown-emotion-code", inspect(fer2013_row_edit(bad_emotion_code)),
         ("fer2013.csv", "row 0", "emotion", "'9'")),  # FER2013 rows count from 0
    Case("inspect-fer2013-not-utf8", inspect(fer2013_not_utf8), ("fer2013.csv", "utf-?8")),
    Case("inspect-manifest-missing-column",
         inspect(manifest([("faces/Happy/x.png", "happy")], header="file,label")),
         ("manifest.csv", "path")),
    Case("inspect-zero-byte-image", inspect(folders_with("blank.png", b"")), ("blank.png",)),
    Case("inspect-out-under-a-file",
         lambda inp: inspect(lambda i: i.folders())(inp)[:-3] + [
             "--out", str(inp.regular_file() / "sub"), "--no-duplicates"],
         ("plain_file",)),
    # trained runs: evaluate, predict, export, report
    Case("evaluate-run-missing", lambda inp: ["evaluate", str(inp.path("no_run")), "--data",
                                              str(inp.path("no_data"))],
         ("no_run", "does not exist")),
    Case("evaluate-model-not-keras", run_command("evaluate", data=True, damage=not_a_keras_archive),
         ("model.keras",), absent=("file not found",)),
    Case("evaluate-newer-run-format", run_command("evaluate", data=True, damage=newer_run_format),
         ("run.json", "newer")),
    Case("evaluate-data-missing", run_command("evaluate", "--data", "{tmp}/no_data"),
         ("no_data",)),
    Case("evaluate-unknown-split", run_command("evaluate", "--split", "holdout", data=True),
         ("holdout",)),
    Case("evaluate-batch-size-zero", run_command("evaluate", "--batch-size", "0", data=True),
         ("--batch-size", r"\b0\b"), usage=True),
    Case("evaluate-tta-shift-fraction", run_command("evaluate", "--tta-shift", "2.5", data=True),
         ("--tta-shift", "2.5"), usage=True),
    Case("evaluate-data-of-another-source",
         lambda inp: run_command("evaluate", "--source", "fer2013", "--data",
                                 str(inp.folders()))(inp),
         ("faces", "fer2013")),
    Case("evaluate-data-is-a-text-file",
         lambda inp: run_command("evaluate", "--data", str(inp.write("notes.txt", "hi\n")))(inp),
         ("notes.txt",)),
    Case("evaluate-tta-zoom-below-one", run_command("evaluate", "--tta-zoom", "0.5", data=True),
         ("--tta-zoom", "0.5"), usage=True),
    Case("evaluate-tta-shift-negative", run_command("evaluate", "--tta-shift", "-2", data=True),
         ("--tta-shift",), usage=True),
    Case("predict-model-not-keras",
         lambda inp: (not_a_keras_archive(inp.run()), predict_with_run(lambda i: i.folders())(inp))[1],
         ("model.keras",), absent=("file not found",)),
    Case("predict-broken-older-run",
         lambda inp: (broken_older_run(inp.run()), predict_with_run(lambda i: i.folders())(inp))[1],
         ("classes",)),
    Case("predict-input-missing", predict_with_run(lambda inp: inp.path("nothing.png")),
         ("nothing.png",)),
    Case("predict-image-not-an-image", predict_with_run(text_as("face.png"), "--whole-image"),
         ("face.png",)),
    Case("predict-video-not-a-video", predict_with_run(text_as("clip.avi"), "--whole-image"),
         ("clip.avi",)),
    Case("predict-empty-folder",
         predict_with_run(empty_folder("none")),
         ("none",)),
    Case("predict-every-zero", predict_with_run(first_face, "--whole-image", "--every", "0"),
         ("--every", r"\b0\b"), usage=True),
    Case("predict-two-models",
         lambda inp: predict_with_run(first_face, "--preset", "fer2013")(inp),
         ("--run", "--preset"), usage=True),
    Case("predict-unknown-detector", predict_with_run(first_face, "--detector", "yolo"),
         ("yolo",)),
    Case("predict-unknown-preset", lambda inp: ["predict", "--preset", "no_such_preset",
                                                str(inp.folders())],
         ("no_such_preset",)),
    Case("predict-model-file-not-tflite",
         lambda inp: predict_with_run(first_face, "--whole-image", "--model-file",
                                      str(text_as("model_int8.tflite")(inp)))(inp),
         ("model_int8.tflite", "not a TFLite model")),
    Case("predict-model-file-without-a-run",
         lambda inp: ["predict", "--model-file", str(inp.path("m.tflite")), str(first_face(inp))],
         ("--model-file", "--run RUN_DIR")),
    Case("predict-out-under-a-file",
         lambda inp: predict_with_run(first_face, "--whole-image", "--out",
                                      str(inp.regular_file() / "sub"))(inp),
         ("plain_file",)),
    Case("export-model-not-keras", run_command("export", "--format", "keras", "--out",
                                               "{tmp}/m.keras", damage=not_a_keras_archive),
         ("model.keras",), absent=("file not found",)),
    Case("export-out-under-a-file",
         lambda inp: run_command("export", "--format", "keras", "--out",
                                 str(inp.regular_file() / "m.keras"))(inp),
         ("plain_file",)),
    Case("export-unknown-format", run_command("export", "--format", "onnx"), ("onnx",),
         usage=True),
    Case("report-not-a-run", lambda inp: ["report", str(empty_folder("folder")(inp))],
         ("folder", "run.json")),
    Case("report-unfinished-run", run_command("report", damage=missing_run_json), ("run.json",)),
    Case("report-corrupt-run-json", run_command("report", damage=corrupt_run_json),
         ("run.json", "json")),
    Case("report-newer-run-format", run_command("report", damage=newer_run_format),
         ("run.json", "newer")),
    Case("report-out-under-a-file",
         lambda inp: run_command("report", "--out", str(inp.regular_file() / "r.html"))(inp),
         ("plain_file",)),
    Case("report-disk-full", report_on_full_disk, ("no space", r"report_out/report\.html"),
         after=nothing_half_written("report_out", markers=("report.html",))),
    Case("evaluate-disk-full", evaluate_on_full_disk, ("no space", r"eval_out/\w+"),
         after=nothing_half_written("eval_out", markers=(RunDir.EVALUATION, RunDir.METRICS))),
    Case("report-metrics-not-json", run_command("report", damage=overwrite(RunDir.METRICS, b"{")),
         ("metrics.json", "json")),
    Case("report-metrics-not-utf8",
         run_command("report", damage=overwrite(RunDir.METRICS, b'{"accuracy": "\xff"}')),
         ("metrics.json", "utf-?8")),
    Case("report-config-not-utf8",
         run_command("report", damage=overwrite(RunDir.CONFIG, b"name: caf\xe9\n")),
         ("config.yaml", "utf-?8")),
    Case("report-max-rows-negative", run_command("report", "--max-rows", "-1"),
         ("--max-rows", "-1"), usage=True),
    # the other commands
    Case("kfold-one-fold", lambda inp: ["kfold", "--config", str(inp.config()), "--folds", "1",
                                        "--out", str(inp.path("out"))],
         ("--folds", r"\b1\b", ">= 2"), usage=True),
    Case("kfold-zero-folds", lambda inp: ["kfold", "--config", str(inp.config()), "--folds", "0",
                                          "--out", str(inp.path("out"))],
         ("--folds", r"\b0\b"), usage=True),
    Case("kfold-val-fraction-out-of-range",
         lambda inp: ["kfold", "--config", str(inp.config()), "--val-fraction", "1.5",
                      "--out", str(inp.path("out"))],
         ("--val-fraction", "1.5"), usage=True),
    Case("tune-fold-by-column-missing", tune_command, ("tune.fold_by", "'subject'")),
    Case("tune-folds-below-two", lambda inp: tune_command(inp) + ["--set", "tune.folds=1"],
         ("tune.folds", r"\b1\b")),
    Case("occlusion-config-missing",
         lambda inp: ["occlusion", "--config", str(inp.path("gone.yaml"))], ("gone.yaml",)),
    Case("occlusion-finetune-epochs-negative",
         lambda inp: ["occlusion", "--config", str(inp.config()), "--finetune-epochs", "-3",
                      "--out", str(inp.path("out"))],
         ("--finetune-epochs", "-3"), usage=True),
    Case("presets-unknown-name", lambda inp: ["presets", "no_such_preset"],
         ("no_such_preset", "available")),
    Case("synth-fer2013-other-size",
         lambda inp: ["synth", str(inp.path("s")), "--format", "fer2013", "--size", "32"],
         ("--size 32", "48")),
    Case("synth-unknown-emotion",
         lambda inp: ["synth", str(inp.path("s")), "--format", "folders", "--classes",
                      "Bored=boredom"],
         ("boredom",)),
    Case("synth-zero-subjects", lambda inp: ["synth", str(inp.path("s")), "--subjects", "0"],
         ("--subjects", r"\b0\b"), usage=True),
    Case("synth-format-and-layout-disagree",
         lambda inp: ["synth", str(inp.path("s")), "--format", "fer2013", "--layout", "ck48"],
         ("--format fer2013", "--layout ck48")),
    Case("synth-no-images", lambda inp: ["synth", str(inp.path("s")), "--format", "fer2013",
                                         "--images", "0"],
         ("--images", r"\b0\b"), usage=True),
    Case("synth-size-zero", lambda inp: ["synth", str(inp.path("s")), "--size", "0"],
         ("--size", r"\b0\b", ">= 8"), usage=True),
    Case("synth-zero-frames", lambda inp: ["synth", str(inp.path("s")), "--frames", "0"],
         ("--frames", r"\b0\b"), usage=True),
    Case("synth-out-under-a-file",
         lambda inp: ["synth", str(inp.regular_file() / "sub"), "--format", "fer2013",
                      "--images", "4"],
         ("plain_file",)),
]


def command_of(argv: list[str]) -> str:
    return "data inspect" if argv[0] == "data" else argv[0]


def check_error_output(case: Case, argv: list[str], code: int, out: str, err: str) -> None:
    """Exit code 2, no traceback, one ``ferkit CMD: error:`` line naming the problem."""
    shown = f"argv: {argv}\nexit code: {code}\nstdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}"
    assert code == 2, shown
    assert "Traceback" not in out + err, shown
    lines = err.strip().splitlines()
    prefix = f"ferkit {command_of(argv)}: error: "
    assert lines and lines[-1].startswith(prefix), shown
    assert case.usage or len(lines) == 1, f"expected one error line\n{shown}"
    line = lines[-1]
    assert len(line) <= MAX_LINE, f"error line of {len(line)} characters: {line[:300]}..."
    for word in case.words:
        assert re.search(word, line, re.IGNORECASE), f"{word!r} not in the error line\n{shown}"
    for word in case.absent:
        assert not re.search(word, line, re.IGNORECASE), f"{word!r} in the error line\n{shown}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_named_error_line(case: Case, tmp_path, request, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # a default output folder (runs/...) lands here
    inputs = Inputs(tmp_path, request, monkeypatch)
    argv = case.build(inputs)
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse rejected an option
        code = exit_.code
    captured = capsys.readouterr()
    check_error_output(case, argv, code, captured.out, captured.err)
    if case.after:
        case.after(inputs)


def test_the_corpus_has_at_least_forty_distinct_cases():
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids) >= 40


# ----------------------------------------------------------------------------- real processes
PROCESS_CASES = [
    Case("process-train-config-missing",
         lambda inp: ["train", "--config", str(inp.path("nope.yaml"))], ("nope.yaml",)),
    Case("process-inspect-truncated-fer2013-gz", inspect(truncated_gz), ("fer2013.csv.gz",)),
    Case("process-evaluate-tta-zoom-below-one",
         lambda inp: ["evaluate", str(inp.path("run")), "--data", "x", "--tta-zoom", "0.5"],
         ("--tta-zoom",), usage=True),
]


@pytest.mark.parametrize("case", PROCESS_CASES, ids=[case.id for case in PROCESS_CASES])
def test_python_m_ferkit_exits_2_with_one_line(case: Case, tmp_path, request, monkeypatch):
    argv = case.build(Inputs(tmp_path, request, monkeypatch))
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user runs it
    done = subprocess.run([sys.executable, "-m", "ferkit", *argv], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path, env=env)
    check_error_output(case, argv, done.returncode, done.stdout, done.stderr)


# ----------------------------------------------------------------------------- TFLite of another model
@pytest.mark.parametrize("input_shape, classes", [((32, 32, 1), 7), ((48, 48, 1), 3)],
                         ids=["other-image-size", "other-classes"])
def test_a_tflite_file_of_another_model_is_a_named_mismatch(tiny_run, tmp_path, input_shape,
                                                            classes):
    """No command reads a TFLite file the user hands it, so the parity check is called
    directly: a file converted from another model fails by name, never in the interpreter."""
    import keras

    from ferkit import export
    from ferkit.errors import ExportMismatchError
    from ferkit.runs import load_preprocessing

    other = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                              keras.layers.Dense(classes, activation="softmax", name="emotion")])
    path = export.write_tflite(other, tmp_path / "other_model.tflite")
    images = export.synthetic_check_images(load_preprocessing(tiny_run))
    with pytest.raises(ExportMismatchError, match=r"other_model\.tflite") as raised:
        export.check_export(tiny_run, path, images)
    assert re.search("another model|shape|lacks", str(raised.value)), raised.value
