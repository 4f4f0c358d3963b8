"""PNG figures and the frames behind them for looking at a data set before training.

Class balance (per split), pixel-intensity histograms per class, a grid of example faces
per class, action-unit (AU) frequencies and AU co-occurrence correlations. Every plot has
a matching function that returns its numbers as a tidy pandas frame, so reports can quote
the values and tests can check them.

Figures are drawn on a bare matplotlib ``Figure`` (Agg canvas, no pyplot state), saved as
PNG at 120 dpi, and each plotting function returns the path it wrote.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ferkit.data.samples import Samples
from ferkit.data.synthetic.vocabulary import AU_NAMES
from ferkit.plotting import new_figure, save_figure

_SPLIT_ORDER = ("train", "val", "test")


def _describe(samples: Samples) -> str:
    return samples.source or "samples"


def _require_rows(samples: Samples, needer: str) -> None:
    if len(samples) == 0:
        raise ValueError(f"{needer}: {_describe(samples)} has no rows")


def _require_images(samples: Samples, needer: str) -> None:
    _require_rows(samples, needer)
    if samples.images is None:
        raise ValueError(f"{needer} needs decoded images, but {_describe(samples)} has none "
                         f"(samples.images is None); call ferkit.data.read_images(samples) first")
    if samples.images.dtype != np.uint8:
        raise ValueError(f"{needer} needs uint8 images (0..255), got {samples.images.dtype}")


def _require_aus(samples: Samples, needer: str, minimum: int = 1) -> None:
    _require_rows(samples, needer)
    if len(samples.aus) < minimum:
        raise ValueError(f"{needer} needs at least {minimum} action-unit column(s), but "
                         f"{_describe(samples)} has {len(samples.aus)} (samples.aus={samples.aus}); "
                         f"load a source with FACS codes, e.g. load_ckplus on a tree with FACS/")


def _images_of(samples: Samples, rows: np.ndarray | None = None) -> np.ndarray:
    """The uint8 images of ``rows`` (positions in the frame; all rows when None)."""
    index = samples.frame["image_index"].to_numpy()
    return samples.images[index if rows is None else index[rows]]


def _class_name(samples: Samples, label: int) -> str:
    return samples.classes[label] if 0 <= label < len(samples.classes) else str(label)


def _split_names(frame: pd.DataFrame) -> list[str]:
    present = set(frame["split"])
    known = [name for name in _SPLIT_ORDER if name in present]
    return known + sorted(present - set(known), key=str)


# --------------------------------------------------------------------------- class distribution
def class_distribution(samples: Samples, by_split: bool = True) -> pd.DataFrame:
    """Images per class, tidy: ``class``, ``count`` (and ``split`` first when split).

    Every class of ``samples.classes`` is listed, with 0 when it has no images, so a class
    missing from a split is visible. ``by_split`` is ignored when there is no ``split`` column.
    """
    frame = samples.frame
    splitting = by_split and "split" in frame.columns
    columns = frame["split"] if splitting else pd.Series("all", index=frame.index)
    table = pd.crosstab(frame["label"], columns).reindex(range(len(samples.classes)), fill_value=0)
    table.index = list(samples.classes)
    order = _split_names(frame) if splitting else ["all"]
    tidy = table[order].rename_axis(index="class", columns="split").stack().rename("count").reset_index()
    tidy = tidy.sort_values(["split", "class"], key=_order_key(order, samples.classes), kind="stable")
    tidy = tidy.reset_index(drop=True)
    return tidy[["split", "class", "count"]] if splitting else tidy[["class", "count"]]


def _order_key(splits: list[str], classes: tuple[str, ...]):
    """Sort key keeping splits in train/val/test order and classes in label order."""
    def key(column: pd.Series) -> pd.Series:
        order = splits if column.name == "split" else list(classes)
        return column.map({name: rank for rank, name in enumerate(order)})
    return key


def plot_class_distribution(samples: Samples, path: str | os.PathLike, by_split: bool = True) -> Path:
    """Bar chart of images per class, one bar per split side by side when split.

    Bars carry their counts; without a ``split`` column (or with ``by_split=False``) one
    bar per class shows the whole set.
    """
    _require_rows(samples, "plot_class_distribution")
    counts = class_distribution(samples, by_split)
    groups = list(dict.fromkeys(counts["split"])) if "split" in counts else [None]
    n_classes = len(samples.classes)
    width = 0.8 / len(groups)
    figure = new_figure(max(6.0, 0.5 * n_classes * len(groups) + 2.5), 4.2)
    axes = figure.add_subplot()
    for k, group in enumerate(groups):
        values = counts if group is None else counts[counts["split"] == group]
        offsets = np.arange(n_classes) + (k - (len(groups) - 1) / 2) * width
        bars = axes.bar(offsets, values["count"], width, label=group or "all images")
        axes.bar_label(bars, fontsize=7, padding=1)
    axes.set_xticks(range(n_classes), list(samples.classes), rotation=30 if n_classes > 5 else 0,
                    ha="right" if n_classes > 5 else "center")
    axes.set_ylabel("images")
    axes.set_title("Images per class" + (" and split" if groups != [None] else ""))
    axes.margins(y=0.12)
    if groups != [None]:
        axes.legend(fontsize=8)
    return save_figure(figure, path)


# --------------------------------------------------------------------------- intensity histograms
def intensity_histogram(samples: Samples, bins: int = 32) -> pd.DataFrame:
    """Per-class share of pixels in each grey-level bin over [0, 256), tidy.

    Columns ``class``, ``bin_start``, ``bin_end``, ``share`` (the pixels of that class in the
    bin divided by all its pixels; each class sums to 1). Colour images pool their channels.
    Classes without images are left out.
    """
    _require_images(samples, "intensity_histogram")
    if not 1 <= bins <= 256 or 256 % bins:
        raise ValueError(f"bins must divide 256 (e.g. 16, 32, 64, 256), got {bins}")
    edges = np.arange(0, 257, 256 // bins)
    labels = samples.labels
    parts = []
    for label in np.unique(labels):
        pixels = _images_of(samples, np.flatnonzero(labels == label)).ravel()
        counts = np.bincount(pixels // (256 // bins), minlength=bins)
        parts.append(pd.DataFrame({"class": _class_name(samples, int(label)), "bin_start": edges[:-1],
                                   "bin_end": edges[1:], "share": counts / counts.sum()}))
    return pd.concat(parts, ignore_index=True)


def plot_intensity_histograms(samples: Samples, path: str | os.PathLike, bins: int = 32) -> Path:
    """One pixel-intensity histogram per class, on shared axes, over the all-image histogram.

    The dashed line is the histogram of every image, so a class whose faces are darker,
    brighter or lower in contrast than the rest stands out. Titles give image counts and
    the mean grey level.
    """
    histogram = intensity_histogram(samples, bins)
    overall = _overall_histogram(samples, bins)
    names = list(dict.fromkeys(histogram["class"]))
    counts = samples.frame["label"].map(lambda label: _class_name(samples, label)).value_counts()
    n_cols = min(4, len(names))
    n_rows = math.ceil(len(names) / n_cols)
    figure = new_figure(3.0 * n_cols, 2.3 * n_rows + 0.4)
    axes_grid = figure.subplots(n_rows, n_cols, sharex=True, sharey=True, squeeze=False)
    for axes, name in zip(axes_grid.ravel(), names):
        _draw_histogram(axes, histogram[histogram["class"] == name], overall)
        axes.set_title(f"{name} (n={counts[name]})", fontsize=9)
    for axes in axes_grid.ravel()[len(names):]:
        axes.set_visible(False)
    for axes in axes_grid[:, 0]:
        axes.set_ylabel("share of pixels", fontsize=8)
    for axes in axes_grid[-1, :]:
        axes.set_xlabel("grey level", fontsize=8)
    figure.suptitle("Pixel intensity per class (dashed: all images)", fontsize=11)
    figure.tight_layout()
    return save_figure(figure, path)


def _overall_histogram(samples: Samples, bins: int) -> np.ndarray:
    counts = np.bincount(_images_of(samples).ravel() // (256 // bins), minlength=bins)
    return counts / counts.sum()


def _draw_histogram(axes, rows: pd.DataFrame, overall: np.ndarray) -> None:
    starts, ends, share = rows["bin_start"].to_numpy(), rows["bin_end"].to_numpy(), rows["share"].to_numpy()
    centres = (starts + ends) / 2
    axes.bar(starts, share, width=ends - starts, align="edge", color="tab:blue", alpha=0.75)
    axes.plot(centres, overall, color="black", linestyle="--", linewidth=1)
    mean = float(np.sum(centres * share))
    axes.axvline(mean, color="tab:red", linewidth=1)
    axes.text(0.97, 0.92, f"mean {mean:.0f}", transform=axes.transAxes, ha="right", va="top",
              fontsize=7, color="tab:red")
    axes.set_xlim(0, 256)
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)


# --------------------------------------------------------------------------- sample grid
def plot_sample_grid(samples: Samples, path: str | os.PathLike, per_class: int = 8, seed: int = 0) -> Path:
    """Grid of example images: one row per class, ``per_class`` random images each (seeded).

    Each row is labelled with its class and image count; a class with fewer images than
    ``per_class`` leaves blank cells, one with none says so.
    """
    _require_images(samples, "plot_sample_grid")
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    rng = np.random.default_rng(seed)
    labels = samples.labels
    n_rows = len(samples.classes)
    figure = new_figure(1.05 * per_class + 1.4, 1.1 * n_rows)
    axes_grid = figure.subplots(n_rows, per_class, squeeze=False)
    for label, row in enumerate(axes_grid):
        members = np.flatnonzero(labels == label)
        chosen = np.sort(rng.choice(members, min(per_class, len(members)), replace=False))
        for axes, position in zip(row, list(chosen) + [None] * (per_class - len(chosen))):
            _draw_cell(axes, None if position is None else _images_of(samples, np.array([position]))[0])
        row[0].set_ylabel(f"{samples.classes[label]}\n(n={len(members)})", rotation=0, ha="right",
                          va="center", fontsize=9)
        if not len(members):
            row[0].text(0.5, 0.5, "no images", transform=row[0].transAxes, ha="center",
                        va="center", fontsize=8, color="grey")
    figure.suptitle("Example images per class", fontsize=11)
    figure.tight_layout()
    return save_figure(figure, path)


def _draw_cell(axes, image: np.ndarray | None) -> None:
    """Show one uint8 image (grey or RGB) without ticks or frame; leave blank when None."""
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_visible(False)
    if image is None:
        return
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        axes.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        axes.imshow(image, interpolation="nearest")


# --------------------------------------------------------------------------- action units
def au_frequency(samples: Samples) -> pd.DataFrame:
    """How often each action unit is coded: ``au``, ``column``, ``count``, ``frequency``.

    ``frequency`` is the share of images with the AU (column mean), rows in AU order.
    """
    _require_aus(samples, "au_frequency")
    values = samples.frame[samples.au_columns]
    return pd.DataFrame({"au": list(samples.aus), "column": samples.au_columns,
                         "count": values.sum().to_numpy(dtype="int64"),
                         "frequency": values.mean().to_numpy(dtype="float64")})


def plot_au_frequency(samples: Samples, path: str | os.PathLike) -> Path:
    """Horizontal bars of how many images carry each AU, with count and percentage.

    AUs run top to bottom in numeric order and are named with FACS names where known.
    """
    table = au_frequency(samples)
    labels = [_au_label(au) for au in table["au"]]
    figure = new_figure(7.0, 0.32 * len(table) + 1.4)
    axes = figure.add_subplot()
    bars = axes.barh(range(len(table)), table["count"], color="tab:green")
    texts = [f"{c} ({f:.0%})" for c, f in zip(table["count"], table["frequency"])]
    axes.bar_label(bars, texts, fontsize=7, padding=2)
    axes.set_yticks(range(len(table)), labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(f"images with the AU (of {len(samples)})")
    axes.set_title("Action-unit frequency")
    axes.margins(x=0.15)
    return save_figure(figure, path)


def _au_label(au: int) -> str:
    return f"AU{au} {AU_NAMES[au]}" if au in AU_NAMES else f"AU{au}"


def au_correlation(samples: Samples) -> pd.DataFrame:
    """Pearson correlation between the 0/1 AU columns (the phi coefficient of co-occurrence).

    A square frame indexed by AU column (``AU1`` ...). Positive values mean two AUs tend to
    appear together (e.g. 1 and 2, 6 and 12), negative that they exclude each other. An AU
    coded in every image or in none has no variance and gives NaN.
    """
    _require_aus(samples, "au_correlation", minimum=2)
    return samples.frame[samples.au_columns].astype("float64").corr()


def plot_au_correlation(samples: Samples, path: str | os.PathLike) -> Path:
    """Annotated heatmap of :func:`au_correlation` on a -1..1 diverging scale (NaN: grey)."""
    correlation = au_correlation(samples)
    values = correlation.to_numpy()
    n = len(values)
    side = max(5.0, 0.45 * n + 2.0)
    figure = new_figure(side + 1.0, side)
    axes = figure.add_subplot()
    cmap = _diverging_colormap()
    image = axes.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=-1.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="correlation")
    _annotate_correlations(axes, values, fontsize=8 if n <= 10 else 7 if n <= 20 else 6)
    names = list(correlation.columns)
    axes.set_xticks(range(n), names, rotation=90, fontsize=8)
    axes.set_yticks(range(n), names, fontsize=8)
    axes.set_title(f"AU co-occurrence correlation ({len(samples)} images)")
    return save_figure(figure, path)


def _diverging_colormap():
    from matplotlib import colormaps

    return colormaps["RdBu_r"].with_extremes(bad="lightgrey")


def _annotate_correlations(axes, values: np.ndarray, fontsize: int) -> None:
    """Write each cell with two decimals (white on strong colours), "n/a" for NaN."""
    for (row, col), value in np.ndenumerate(values):
        text = "n/a" if np.isnan(value) else f"{value:.2f}".replace("0.", ".", 1)
        colour = "white" if abs(np.nan_to_num(value)) > 0.6 else "black"
        axes.text(col, row, text, ha="center", va="center", color=colour, fontsize=fontsize)


__all__ = [
    "au_correlation", "au_frequency", "class_distribution", "intensity_histogram",
    "plot_au_correlation", "plot_au_frequency", "plot_class_distribution",
    "plot_intensity_histograms", "plot_sample_grid",
]
