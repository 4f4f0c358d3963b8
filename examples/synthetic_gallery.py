"""Draw a gallery of synthetic faces: one row per CK+ emotion, clean faces on the left,
faces with nuisance (pose, light, noise, clutter, occluders) on the right.

    python examples/synthetic_gallery.py --out docs/images/synthetic_grid.png
"""
from __future__ import annotations

import argparse
import pathlib

import numpy as np
import pandas as pd

from ferkit.data.labels import CKPLUS_EMOTIONS
from ferkit.data.synthetic import AUS, SyntheticConfig, SyntheticFaces, plot_grid


def caption(row: pd.Series) -> str:
    """Emotion name over the AUs actually drawn, e.g. ``happy`` / ``6+12+25``."""
    drawn = [str(au) for au in AUS if row[f"AU{au}"]]
    return f"{row['emotion_name']}\n{'+'.join(drawn) or '-'}"


def emotion_row(name: str, per_kind: int, size: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """``per_kind`` clean faces then ``per_kind`` nuisance faces showing ``name``."""
    config = SyntheticConfig(size=size, emotion_proportions={name: 1.0})
    clean = SyntheticFaces(config.without_nuisance(), seed=seed).sample(per_kind)
    noisy = SyntheticFaces(config, seed=seed + 1000).sample(per_kind)
    return np.concatenate([clean[0], noisy[0]]), pd.concat([clean[1], noisy[1]], ignore_index=True)


def main(argv: list[str] | None = None) -> pathlib.Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images/synthetic_grid.png", help="PNG to write")
    parser.add_argument("--size", type=int, default=48, help="face image side in pixels")
    parser.add_argument("--per-kind", type=int, default=4, help="clean (and noisy) faces per row")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = [emotion_row(name, args.per_kind, args.size, args.seed + k)
            for k, name in enumerate(CKPLUS_EMOTIONS)]
    images = np.concatenate([images for images, _ in rows])
    frame = pd.concat([frame for _, frame in rows], ignore_index=True)
    frame["caption"] = frame.apply(caption, axis=1)
    path = plot_grid(images, frame, args.out, columns=2 * args.per_kind, title_column="caption")
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
