"""Writes the tiny fake manual files under ``dummy_data/`` that the builder tests read.

Nothing here comes from the real datasets: every image is seeded random noise, drawn as a
coarse grid of grey blocks so the files stay a few KB, and every label, vote and action
unit is chosen below to hit the cases the builders must handle (FER+ rows that each label
mode keeps or drops, a missing ``PrivateTest`` split, a CK+ sequence without an emotion
file, one without a FACS file, an AU code outside the builder's list). The layouts and text
formats are the real ones, so the same code paths run as on the licensed files.

Regenerate the committed files with ``python -m ferkit.data.tfds.dummy`` (seeded, so the
content is the same each time; PNG and gzip bytes may differ across library versions).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

DUMMY_DATA_DIR = Path(__file__).resolve().parent / "dummy_data"

#: (Usage, FER2013 emotion code) of the rows of the fer2013 dummy file.
FER2013_ROWS: tuple[tuple[str, int], ...] = (
    ("Training", 0), ("Training", 3), ("Training", 6), ("Training", 4), ("Training", 5),
    ("PublicTest", 3), ("PublicTest", 2),
    ("PrivateTest", 1), ("PrivateTest", 6),
)

_VOTE_HEADER = ("Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,"
                "contempt,unknown,NF")

#: (Usage, FER2013 emotion code, image name, ten FER+ votes) of the ferplus dummy files.
#: The comments say what the FER+ label modes make of each row (votes of 1 are dropped first).
FERPLUS_ROWS: tuple[tuple[str, int, str, tuple[int, ...]], ...] = (
    # clear neutral: kept by every mode
    ("Training", 6, "fer0000000.png", (8, 2, 0, 0, 0, 0, 0, 0, 0, 0)),
    # unanimous happiness
    ("Training", 3, "fer0000001.png", (0, 10, 0, 0, 0, 0, 0, 0, 0, 0)),
    # surprise/fear tie: no majority, but a two-class distribution
    ("Training", 5, "fer0000002.png", (2, 0, 4, 0, 0, 0, 4, 0, 0, 0)),
    # most votes "unknown": dropped by every mode
    ("Training", 4, "fer0000003.png", (0, 0, 0, 4, 0, 0, 0, 0, 6, 0)),
    # "not a face": dropped by every mode
    ("Training", 2, "fer0000004.png", (0, 0, 0, 0, 0, 0, 0, 0, 0, 10)),
    # anger 5 of 10 is not a strict majority; anger/disgust distribution and multi-target
    ("Training", 0, "fer0000005.png", (0, 0, 0, 0, 5, 3, 0, 2, 0, 0)),
    # sadness once the three single votes are dropped
    ("Training", 4, "fer0000006.png", (1, 0, 0, 7, 1, 0, 1, 0, 0, 0)),
    # no image name: FER+ marks the image unusable
    ("Training", 1, "", (0, 0, 0, 0, 0, 0, 0, 0, 0, 10)),
    ("PublicTest", 3, "fer0000008.png", (1, 9, 0, 0, 0, 0, 0, 0, 0, 0)),
    ("PublicTest", 0, "fer0000009.png", (4, 0, 0, 0, 0, 0, 0, 6, 0, 0)),
    # ties pull four classes into the top groups: no consensus for majority or the
    # distribution modes; multi_target keeps surprise + fear (30% each)
    ("PublicTest", 2, "fer0000010.png", (2, 0, 3, 2, 0, 0, 3, 0, 0, 0)),
    ("PublicTest", 1, "fer0000011.png", (0, 0, 0, 0, 0, 10, 0, 0, 0, 0)),
)

#: CK+ sequences of the ckplus dummy tree: (subject, sequence, CK+ emotion code or None for an
#: unlabelled sequence, {AU: intensity} or None for a sequence without a FACS file).
CKPLUS_SEQUENCES: tuple[tuple[str, str, int | None, dict[int, int] | None], ...] = (
    ("S010", "001", 5, {6: 3, 12: 4, 25: 2}),
    ("S010", "002", 7, {1: 3, 2: 3, 5: 2, 26: 4, 27: 1}),
    ("S011", "001", 1, {4: 4, 5: 2, 7: 3, 23: 2, 24: 3}),
    ("S011", "004", None, {12: 2}),
    ("S012", "001", 5, {6: 2, 12: 3}),
    ("S012", "003", 3, {9: 4, 10: 3, 17: 2}),
    ("S013", "002", 4, {1: 3, 2: 2, 4: 3, 5: 4, 20: 3, 25: 2, 62: 1}),
    ("S013", "005", 2, None),
    ("S014", "001", 7, {1: 2, 2: 2, 26: 3}),
    ("S014", "002", 6, {1: 2, 4: 3, 15: 4, 17: 2}),
)
CKPLUS_FRAMES = 4
#: Height and width of the fake CK+ frames: not 48x48, so the builder's resize runs.
CKPLUS_FRAME_SHAPE = (49, 64)


def blocky_image(rng: np.random.Generator, shape: tuple[int, int], block: int = 8) -> np.ndarray:
    """A uint8 grey image of random ``block`` x ``block`` tiles (compresses to little)."""
    rows, cols = -(-shape[0] // block), -(-shape[1] // block)
    tiles = rng.integers(0, 256, size=(rows, cols), dtype=np.uint8)
    return np.kron(tiles, np.ones((block, block), dtype=np.uint8))[:shape[0], :shape[1]]


def _write_gzip(path: Path, text: str) -> None:
    with open(path, "wb") as raw:  # mtime=0 keeps the bytes independent of the clock
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as stream:
            stream.write(text.encode("ascii"))


def _fer2013_text(rows: list[tuple[str, int]], rng: np.random.Generator) -> str:
    lines = ["emotion,pixels,Usage"]
    for usage, emotion in rows:
        pixels = " ".join(str(v) for v in blocky_image(rng, (48, 48), block=12).ravel())
        lines.append(f"{emotion},{pixels},{usage}")
    return "\n".join(lines) + "\n"


def write_fer2013(folder: Path, seed: int = 0) -> Path:
    """``fer2013.csv.gz`` with the rows of :data:`FER2013_ROWS`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fer2013.csv.gz"
    _write_gzip(path, _fer2013_text(list(FER2013_ROWS), np.random.default_rng(seed)))
    return path


def write_ferplus(folder: Path, seed: int = 1) -> tuple[Path, Path]:
    """``fer2013.csv.gz`` and ``fer2013new.csv`` aligned row by row (no PrivateTest rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    fer_path, votes_path = folder / "fer2013.csv.gz", folder / "fer2013new.csv"
    _write_gzip(fer_path, _fer2013_text([(u, e) for u, e, _, _ in FERPLUS_ROWS], rng))
    lines = [_VOTE_HEADER] + [f"{usage},{name}," + ",".join(str(v) for v in votes)
                              for usage, _, name, votes in FERPLUS_ROWS]
    votes_path.write_text("\n".join(lines) + "\n")
    return fer_path, votes_path


def write_ckplus(folder: Path, seed: int = 2) -> Path:
    """A CK+ full-distribution tree: ``cohn-kanade-images/``, ``Emotion/`` and ``FACS/``."""
    import cv2

    rng = np.random.default_rng(seed)
    for subject, sequence, emotion, facs in CKPLUS_SEQUENCES:
        frames = folder / "cohn-kanade-images" / subject / sequence
        frames.mkdir(parents=True, exist_ok=True)
        stem = ""
        for number in range(1, CKPLUS_FRAMES + 1):
            stem = f"{subject}_{sequence}_{number:08d}"
            image = blocky_image(rng, CKPLUS_FRAME_SHAPE, block=16)
            written = cv2.imwrite(str(frames / f"{stem}.png"), image,
                                  [cv2.IMWRITE_PNG_COMPRESSION, 9])
            if not written:
                raise OSError(f"could not write {frames / stem}.png")
        if emotion is not None:  # both label files belong to the last (peak) frame
            labels = folder / "Emotion" / subject / sequence
            labels.mkdir(parents=True, exist_ok=True)
            (labels / f"{stem}_emotion.txt").write_text(f"   {float(emotion):.7e}\n")
        if facs is not None:
            codes = folder / "FACS" / subject / sequence
            codes.mkdir(parents=True, exist_ok=True)
            (codes / f"{stem}_facs.txt").write_text("".join(
                f"   {float(au):.7e}   {float(level):.7e}\n" for au, level in facs.items()))
    return folder


def write_all(root: Path = DUMMY_DATA_DIR) -> Path:
    """Every dummy tree under ``root``: ``fer2013/``, ``ferplus/`` and ``ckplus/``."""
    root = Path(root)
    write_fer2013(root / "fer2013")
    write_ferplus(root / "ferplus")
    write_ckplus(root / "ckplus")
    return root


if __name__ == "__main__":
    print(f"wrote dummy data under {write_all()}")
