"""Data cleaning: duplicate images, pixel preprocessing, and face cropping.

Three jobs that come before any training run:

* **Duplicates.** Real FER2013 holds 1,513 groups of pixel-identical images, some shared
  by Training and PublicTest (test leakage) and a few whose copies carry different labels.
  :func:`find_duplicates` groups identical (``kind="exact"``, a SHA-1 of the pixels) or
  near-identical (``kind="perceptual"``, a 64-bit DCT hash compared by Hamming distance)
  images; :func:`duplicate_report` counts groups, cross-split groups and label conflicts;
  :func:`drop_duplicates` removes copies by an explicit policy and returns what it removed;
  :func:`with_duplicate_groups` adds a column that :func:`ferkit.data.splits.assert_disjoint`
  and :func:`~ferkit.data.splits.group_split` understand.
* **Preprocessing** of image arrays: :func:`resize` (seed 000 resizes to 96x96),
  :func:`minmax_normalize` (seed 000's per-channel ``cv2.NORM_MINMAX``), :class:`Standardizer`
  (seed 001's StandardScaler, but fitted on training images only), :func:`to_grayscale`,
  :func:`to_rgb`.
* **Face cropping** of raw photos: :func:`detect_faces` with OpenCV's Haar cascade and
  :func:`crop_faces`, which reports every image where zero or several faces were found.

Image conventions: a batch is ``(n, H, W)`` or ``(n, H, W, C)``; colour images in memory are
RGB (as :func:`ferkit.data.ckplus.read_images` makes them); files are decoded with OpenCV
and turned from BGR to RGB. Row numbers in reports are positions in ``samples.frame``.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Sequence

import cv2
import numpy as np
import pandas as pd

from ferkit.data.samples import Samples

DuplicateKind = Literal["exact", "perceptual"]
AcrossSplits = Literal["drop_from_eval", "drop_all", "keep_per_split"]
FaceBox = tuple[int, int, int, int]
Detector = Callable[[np.ndarray], Sequence[Sequence[int]]]

#: Hamming distance (of 64 bits) under which two perceptual hashes count as the same image.
DEFAULT_MAX_DISTANCE = 8
HASH_SIDE = 32          # images shrink to 32x32 before the DCT
HASH_LOW = 8            # the 8x8 lowest frequencies give the 64 bits
FRONTAL_FACE_CASCADE = "haarcascade_frontalface_default.xml"


# ----------------------------------------------------------------------------- pixel access
def _name(samples: Samples) -> str:
    return samples.source or "Samples"


def _decoded(path: str, flag: int) -> np.ndarray | None:
    image = cv2.imread(str(path), flag)
    if image is not None and image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
        image = cv2.cvtColor(image, code)
    return image


def _image_at(samples: Samples, row: int, flag: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """The pixels of frame row ``row``: from ``samples.images`` if loaded, else the file."""
    if samples.images is not None:
        index = int(samples.frame["image_index"].iat[row])
        if not 0 <= index < len(samples.images):
            raise IndexError(f"{_name(samples)}, row {row}: image_index {index} is outside "
                             f"the {len(samples.images)} loaded images")
        return samples.images[index]
    path = samples.frame["path"].iat[row]
    image = _decoded(path, flag)
    if image is None:
        raise OSError(f"{_name(samples)}, row {row}: cannot read image {path}: "
                      "missing, truncated or not an image")
    return image


def _images(samples: Samples, flag: int = cv2.IMREAD_UNCHANGED) -> Iterator[tuple[int, np.ndarray]]:
    for row in range(len(samples)):
        yield row, _image_at(samples, row, flag)


def _where_columns(samples: Samples) -> list[str]:
    """Columns that tell a user which image a row is (file path or in-memory index)."""
    return [c for c in ("path", "image_index") if c in samples.frame.columns]


# ----------------------------------------------------------------------------- hashing
def _squeezed(image: np.ndarray) -> np.ndarray:
    return image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image


def exact_hash(image: np.ndarray) -> str:
    """SHA-1 of an image's dtype, shape and pixels (a trailing channel of 1 is ignored)."""
    image = np.ascontiguousarray(_squeezed(np.asarray(image)))
    digest = hashlib.sha1(f"{image.dtype.str}{image.shape}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def _grey_float(image: np.ndarray) -> np.ndarray:
    """A 2-D float32 image: the mean of the colour channels (so RGB and BGR agree)."""
    image = _squeezed(np.asarray(image))
    if image.ndim == 3:
        image = image[..., :3].mean(axis=2)
    if image.ndim != 2:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {image.shape}")
    return image.astype(np.float32)


def perceptual_hash(image: np.ndarray) -> int:
    """64-bit DCT hash: which of the 8x8 lowest frequencies lie above their median.

    The image is shrunk to 32x32 first, so the hash ignores size; a brightness offset only
    moves the DC term, so it ignores small brightness changes; one-pixel shifts and mild
    noise flip few bits. Compare two hashes with :func:`hamming_distance`.
    """
    small = cv2.resize(_grey_float(image), (HASH_SIDE, HASH_SIDE), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small)[:HASH_LOW, :HASH_LOW].ravel()
    bits = low > np.median(low[1:])
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def _popcount(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values).astype(np.int64)
    bits = np.unpackbits(values.view(np.uint8).reshape(values.shape + (8,)), axis=-1)
    return bits.sum(axis=-1).astype(np.int64)


def hamming_distance(a: int | np.ndarray, b: int | np.ndarray) -> np.ndarray | int:
    """Number of differing bits between 64-bit hashes (element-wise for arrays)."""
    distance = _popcount(np.bitwise_xor(np.asarray(a, np.uint64), np.asarray(b, np.uint64)))
    return int(distance) if distance.ndim == 0 else distance


def image_hashes(samples: Samples) -> pd.DataFrame:
    """One row per image: ``row``, its exact hash, its perceptual hash and its size.

    Works on in-memory images and on ``path`` samples (files decoded with OpenCV; an
    unreadable file raises an error naming its row and path).
    """
    records = [dict(row=row, exact=exact_hash(image), perceptual=perceptual_hash(image),
                    height=image.shape[0], width=image.shape[1])
               for row, image in _images(samples)]
    frame = pd.DataFrame(records, columns=["row", "exact", "perceptual", "height", "width"])
    return frame.astype({"row": "int64", "perceptual": "uint64", "height": "int64", "width": "int64"})


# ----------------------------------------------------------------------------- grouping
def _bit_blocks(count: int) -> list[tuple[int, int]]:
    """``count`` (shift, mask) pairs that cut 64 bits into nearly equal blocks."""
    sizes = [64 // count + (1 if k < 64 % count else 0) for k in range(count)]
    shifts = np.cumsum([0] + sizes[:-1])
    return [(int(s), (1 << n) - 1) for s, n in zip(shifts, sizes)]


def _close_pairs_among(values: np.ndarray, members: np.ndarray, max_distance: int,
                       chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    found_i, found_j = [], []
    for start in range(0, len(members), chunk):
        rows = members[start:start + chunk]
        distance = hamming_distance(values[rows][:, None], values[members][None, :])
        i, j = np.nonzero(distance <= max_distance)
        keep = rows[i] < members[j]
        found_i.append(rows[i][keep])
        found_j.append(members[j][keep])
    return np.concatenate(found_i), np.concatenate(found_j)


def _close_pairs(values: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs of distinct hashes within ``max_distance`` bits of each other.

    Pigeonhole: hashes that differ in at most d bits agree exactly on one of d + 1 blocks,
    so only hashes sharing a block value are compared.
    """
    pairs_i, pairs_j = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for shift, mask in _bit_blocks(max_distance + 1):
        keys = (values >> np.uint64(shift)) & np.uint64(mask)
        _, bucket, counts = np.unique(keys, return_inverse=True, return_counts=True)
        for b in np.flatnonzero(counts > 1):
            i, j = _close_pairs_among(values, np.flatnonzero(bucket == b), max_distance)
            pairs_i.append(i)
            pairs_j.append(j)
    return np.concatenate(pairs_i), np.concatenate(pairs_j)


def _star_clusters(first_rows: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Cluster id per hash: in row order, each unclustered hash takes every unclustered
    neighbour. Every member is then within the distance of its cluster's first image,
    and chains (A~B, B~C, A far from C) cannot grow into one giant group."""
    from scipy.sparse import csr_matrix

    n = len(first_rows)
    graph = csr_matrix((np.ones(2 * len(i), np.int8), (np.r_[i, j], np.r_[j, i])), shape=(n, n))
    cluster = np.full(n, -1, dtype=np.int64)
    for u in np.argsort(first_rows, kind="stable"):
        if cluster[u] >= 0:
            continue
        neighbours = graph.indices[graph.indptr[u]:graph.indptr[u + 1]]
        cluster[u] = u
        cluster[neighbours[cluster[neighbours] < 0]] = u
    return cluster


def _cluster_keys(hashes: pd.DataFrame, kind: str, max_distance: int) -> np.ndarray:
    """A key per image; images sharing a key are one duplicate group."""
    if kind == "exact":
        return pd.factorize(hashes["exact"])[0]
    values = hashes["perceptual"].to_numpy(np.uint64)
    unique, first_rows, inverse = np.unique(values, return_index=True, return_inverse=True)
    if max_distance == 0:
        return inverse
    i, j = _close_pairs(unique, max_distance)
    return _star_clusters(first_rows, i, j)[inverse]


def _check_kind(kind: str, max_distance: int | None) -> int:
    if kind == "exact":
        if max_distance not in (None, 0):
            raise ValueError(f"max_distance applies to kind='perceptual' only, got {max_distance!r}")
        return 0
    if kind != "perceptual":
        raise ValueError(f"kind must be 'exact' or 'perceptual', got {kind!r}")
    distance = DEFAULT_MAX_DISTANCE if max_distance is None else max_distance
    if not isinstance(distance, (int, np.integer)) or not 0 <= distance <= 32:
        raise ValueError(f"max_distance must be a whole number of bits in 0..32, got {max_distance!r}")
    return int(distance)


def find_duplicates(samples: Samples, kind: DuplicateKind = "exact", max_distance: int | None = None,
                    *, hashes: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per member of each group of duplicate images (singletons are not listed).

    Args:
        kind: ``"exact"`` (identical pixels) or ``"perceptual"`` (DCT hashes within
            ``max_distance`` bits, default :data:`DEFAULT_MAX_DISTANCE`). A perceptual group
            is its first image plus every not yet grouped image within ``max_distance`` of
            it, taken in row order, so groups never chain into one large blob.
        hashes: the output of :func:`image_hashes`, to avoid hashing twice.

    Returns columns ``group`` (0, 1, ... in order of each group's first row), ``row``,
    ``path``/``image_index``, ``split`` (if the frame has one), ``label``, ``label_name`` and
    ``distance`` (bits from the group's first member; 0 for exact duplicates).
    """
    distance_limit = _check_kind(kind, max_distance)
    hashes = image_hashes(samples) if hashes is None else hashes
    if not np.array_equal(hashes["row"].to_numpy(), np.arange(len(samples))):
        raise ValueError(f"{_name(samples)}: hashes must be image_hashes() of these samples "
                         f"(rows 0..{len(samples) - 1} in order), got {len(hashes)} rows")
    keys = pd.Series(_cluster_keys(hashes, kind, distance_limit), index=hashes["row"].to_numpy())
    sizes = keys.map(keys.value_counts())
    grouped = keys[sizes > 1].sort_index()
    group_of_key = {key: g for g, key in enumerate(pd.unique(grouped.to_numpy()))}
    return _member_frame(samples, hashes, grouped.index.to_numpy(), grouped.map(group_of_key).to_numpy())


def _member_frame(samples: Samples, hashes: pd.DataFrame, rows: np.ndarray,
                  groups: np.ndarray) -> pd.DataFrame:
    frame = samples.frame
    columns = _where_columns(samples) + [c for c in ("split",) if c in frame.columns] + ["label"]
    members = pd.concat([pd.DataFrame({"group": groups.astype("int64"), "row": rows.astype("int64")}),
                         frame.iloc[rows][columns].reset_index(drop=True)], axis=1)
    members["label_name"] = [_class_name(samples, label) for label in members["label"]]
    perceptual = hashes["perceptual"].to_numpy(np.uint64)
    first_row = members.groupby("group")["row"].transform("min").to_numpy()
    members["distance"] = hamming_distance(perceptual[rows], perceptual[first_row]) if len(rows) else []
    return members.sort_values(["group", "row"], ignore_index=True).astype({"distance": "int64"})


def _class_name(samples: Samples, label) -> str:
    return samples.classes[int(label)] if 0 <= int(label) < len(samples.classes) else str(label)


def with_duplicate_groups(samples: Samples, kind: DuplicateKind = "exact",
                          max_distance: int | None = None, column: str = "duplicate_group", *,
                          duplicates: pd.DataFrame | None = None) -> Samples:
    """A copy of ``samples`` whose frame has a duplicate-group id per row.

    Copies share an id; every other image gets an id of its own. So
    ``assert_disjoint(result.frame, column)`` checks that no image is in two splits, and
    ``group_split(result.frame, group=column)`` keeps copies in one split.
    """
    duplicates = find_duplicates(samples, kind, max_distance) if duplicates is None else duplicates
    n_groups = int(duplicates["group"].max()) + 1 if len(duplicates) else 0
    ids = np.full(len(samples), -1, dtype="int64")
    ids[duplicates["row"].to_numpy()] = duplicates["group"].to_numpy()
    singles = np.flatnonzero(ids < 0)
    ids[singles] = n_groups + np.arange(len(singles))
    return dataclasses.replace(samples, frame=samples.frame.assign(**{column: ids}))


# ----------------------------------------------------------------------------- reports
@dataclasses.dataclass
class DuplicateReport:
    """What :func:`duplicate_report` found.

    Attributes:
        members: one row per duplicate image (the :func:`find_duplicates` frame).
        groups: one row per group: ``size``, ``splits``, ``labels``, ``cross_split``,
            ``conflicting_labels``.
        leakage: one row per combination of splits that share groups, with how many groups
            and images (empty when nothing crosses splits).
        summary: counts: images, duplicate groups, images in groups, redundant copies,
            cross-split groups, groups with conflicting labels.
    """

    members: pd.DataFrame
    groups: pd.DataFrame
    leakage: pd.DataFrame
    summary: pd.Series

    def __str__(self) -> str:
        s = self.summary
        leaks = "; ".join(f"{r.splits}: {r.groups}" for r in self.leakage.itertuples())
        return (f"duplicate groups: {s['duplicate_groups']} holding {s['images_in_groups']} of "
                f"{s['images']} images ({s['redundant_copies']} redundant copies); "
                f"groups across splits: {s['cross_split_groups']}" + (f" ({leaks})" if leaks else "")
                + f"; groups with conflicting labels: {s['conflicting_label_groups']}")


def _joined(values: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in values}))


def _group_frame(members: pd.DataFrame) -> pd.DataFrame:
    by_group = members.groupby("group", sort=True)
    groups = pd.DataFrame({"size": by_group.size(), "first_row": by_group["row"].min(),
                           "labels": by_group["label_name"].agg(_joined),
                           "n_labels": by_group["label"].nunique()})
    if "split" in members.columns:
        groups["splits"] = by_group["split"].agg(_joined)
        groups["n_splits"] = by_group["split"].nunique()
    else:
        groups["splits"], groups["n_splits"] = "", 1
    groups["cross_split"] = groups["n_splits"] > 1
    groups["conflicting_labels"] = groups["n_labels"] > 1
    return groups.reset_index()[["group", "size", "first_row", "splits", "n_splits", "labels",
                                 "n_labels", "cross_split", "conflicting_labels"]]


def _leakage_frame(groups: pd.DataFrame) -> pd.DataFrame:
    crossing = groups[groups["cross_split"]]
    leakage = crossing.groupby("splits").agg(groups=("group", "size"), images=("size", "sum"))
    return leakage.reset_index().astype({"groups": "int64", "images": "int64"})


def duplicate_report(samples: Samples, kind: DuplicateKind = "exact", max_distance: int | None = None,
                     *, duplicates: pd.DataFrame | None = None) -> DuplicateReport:
    """Count duplicate groups, the groups that cross splits (leakage) and label conflicts."""
    members = find_duplicates(samples, kind, max_distance) if duplicates is None else duplicates
    groups = _group_frame(members)
    summary = pd.Series({
        "images": len(samples), "duplicate_groups": len(groups),
        "images_in_groups": len(members), "redundant_copies": len(members) - len(groups),
        "cross_split_groups": int(groups["cross_split"].sum()),
        "conflicting_label_groups": int(groups["conflicting_labels"].sum()),
    }, name="count", dtype="int64")
    return DuplicateReport(members=members, groups=groups, leakage=_leakage_frame(groups), summary=summary)


# ----------------------------------------------------------------------------- removal
@dataclasses.dataclass(frozen=True)
class _Policy:
    keep: str
    across_splits: str
    conflicting_labels: str
    priority: tuple[str, ...]


def _split_priority(samples: Samples, train_split: str, across_splits: str,
                    split_priority: Sequence[str] | None) -> tuple[str, ...]:
    if "split" not in samples.frame.columns:
        return ()
    present = list(pd.unique(samples.frame["split"].astype(str)))
    if split_priority is not None:
        missing = sorted(set(present) - set(split_priority))
        if missing:
            raise ValueError(f"split_priority {list(split_priority)} does not rank splits {missing}")
        return tuple(split_priority)
    if across_splits == "drop_from_eval" and train_split not in present:
        raise ValueError(f"{_name(samples)}: train_split {train_split!r} is not a split of this "
                         f"data (splits: {', '.join(present)}); pass train_split=")
    return (train_split,) + tuple(s for s in present if s != train_split)


def _keeper(group: pd.DataFrame, keep: str) -> int:
    return int(group["row"].iloc[0] if keep == "first" else group["row"].iloc[-1])


def _removed(group: pd.DataFrame, reason: str, kept_row: int | None) -> list[dict]:
    return [dict(row=int(r), group=int(g), reason=reason, kept_row=kept_row)
            for r, g in zip(group["row"], group["group"])]


def _within(group: pd.DataFrame, policy: _Policy, reason: str) -> list[dict]:
    kept = _keeper(group, policy.keep)
    return _removed(group[group["row"] != kept], reason, kept)


def _group_removals(group: pd.DataFrame, policy: _Policy) -> list[dict]:
    """The rows of one duplicate group to remove, each with the reason and the kept row."""
    group = group.sort_values("row")
    if policy.conflicting_labels == "drop" and group["label"].nunique() > 1:
        return _removed(group, f"conflicting labels ({_joined(group['label_name'])})", None)
    splits = group["split"].astype(str) if "split" in group.columns else pd.Series("", index=group.index)
    if splits.nunique() <= 1:
        return _within(group, policy, "duplicate")
    if policy.across_splits == "drop_all":
        return _removed(group, f"copies in several splits ({_joined(splits)})", None)
    if policy.across_splits == "keep_per_split":
        return [removal for _, part in group.groupby(splits)
                for removal in _within(part, policy, "duplicate within split")]
    home = min(splits.unique(), key=policy.priority.index)
    inside = group[splits == home]
    kept = _keeper(inside, policy.keep)
    return (_within(inside, policy, "duplicate within split")
            + _removed(group[splits != home], f"copy of a {home!r} image", kept))


def _check_choice(name: str, value: str, allowed: Sequence[str]):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def drop_duplicates(samples: Samples, kind: DuplicateKind = "exact", max_distance: int | None = None,
                    *, keep: Literal["first", "last"] = "first",
                    across_splits: AcrossSplits = "drop_from_eval", train_split: str = "train",
                    conflicting_labels: Literal["drop", "keep"] = "drop",
                    split_priority: Sequence[str] | None = None,
                    duplicates: pd.DataFrame | None = None) -> tuple[Samples, pd.DataFrame]:
    """Remove duplicate copies by an explicit policy; return the cleaned samples and a report.

    Args:
        keep: which copy of a group survives: the ``"first"`` or ``"last"`` row.
        across_splits: for a group whose copies sit in several splits:
            ``"drop_from_eval"`` keeps the copies of the highest-priority split (the training
            split first) and removes the rest, so evaluation never sees a training image;
            ``"drop_all"`` removes every copy; ``"keep_per_split"`` only de-duplicates inside
            each split (the leak stays, see :func:`duplicate_report`).
        train_split: the name of the training split (FER2013 loads as ``"train"``).
        conflicting_labels: ``"drop"`` removes every copy of a group whose labels disagree
            (no one knows which is right); ``"keep"`` treats it like any other group.
        split_priority: the order in which splits keep copies (default: ``train_split``,
            then the other splits in order of first appearance).
        duplicates: a :func:`find_duplicates` frame, to avoid hashing twice.

    Returns:
        ``(cleaned, removed)``: ``cleaned`` shares the images of ``samples``; ``removed`` has
        one row per removed image: ``row`` (position in ``samples.frame``), ``group``,
        ``split``, ``label``, ``label_name``, ``reason`` and ``kept_row`` (the surviving copy,
        missing when the whole group went).
    """
    _check_choice("keep", keep, ("first", "last"))
    _check_choice("across_splits", across_splits, ("drop_from_eval", "drop_all", "keep_per_split"))
    _check_choice("conflicting_labels", conflicting_labels, ("drop", "keep"))
    priority = _split_priority(samples, train_split, across_splits, split_priority)
    policy = _Policy(keep, across_splits, conflicting_labels, priority)
    members = find_duplicates(samples, kind, max_distance) if duplicates is None else duplicates
    removals = [r for _, group in members.groupby("group") for r in _group_removals(group, policy)]
    removed = _removal_frame(members, removals)
    mask = np.ones(len(samples), dtype=bool)
    mask[removed["row"].to_numpy()] = False
    return samples.subset(mask), removed


def _removal_frame(members: pd.DataFrame, removals: list[dict]) -> pd.DataFrame:
    decisions = pd.DataFrame(removals, columns=["row", "group", "reason", "kept_row"])
    detail = members.drop(columns=["distance"]).set_index("row")
    removed = decisions.join(detail.drop(columns=["group"]), on="row")
    removed["kept_row"] = removed["kept_row"].astype("Int64")
    first = ["group", "row"] + [c for c in ("path", "image_index", "split") if c in removed.columns]
    ordered = first + ["label", "label_name", "reason", "kept_row"]
    return removed[ordered].sort_values("row", ignore_index=True).astype({"row": "int64", "group": "int64"})


# ----------------------------------------------------------------------------- preprocessing
INTERPOLATIONS: dict[str, int] = {
    "nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA, "lanczos": cv2.INTER_LANCZOS4,
}


def _interpolation(interpolation: str | int) -> int:
    if isinstance(interpolation, (int, np.integer)):
        return int(interpolation)
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {sorted(INTERPOLATIONS)} or a cv2.INTER_* "
                         f"code, got {interpolation!r}")
    return INTERPOLATIONS[interpolation]


def _size(size: int | Sequence[int]) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive (height, width), got {size!r}")
    return int(height), int(width)


def _resize_one(image: np.ndarray, height: int, width: int, code: int) -> np.ndarray:
    if image.shape[:2] == (height, width):
        return image.copy()
    resized = cv2.resize(image, (width, height), interpolation=code)
    return resized.reshape((height, width) + image.shape[2:])


def resize(images: np.ndarray | Sequence[np.ndarray], size: int | Sequence[int] = (96, 96),
           interpolation: str | int = "area") -> np.ndarray:
    """Resize a batch to ``size`` = (height, width); the dtype and channel axis are kept.

    ``images`` is an ``(n, H, W)`` / ``(n, H, W, C)`` array, or a list of ``(H, W)`` /
    ``(H, W, C)`` images of different sizes (seed 000's photos), which come back stacked.
    ``"area"`` suits shrinking; use ``"cubic"`` or ``"lanczos"`` to enlarge.
    """
    height, width = _size(size)
    code = _interpolation(interpolation)
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise ValueError(f"images must be (n, H, W) or (n, H, W, C), got shape {images.shape}")
        batch = list(images)
    else:
        batch = [np.asarray(image) for image in images]
    shapes = {image.shape[2:] for image in batch}
    if len(shapes) > 1:
        raise ValueError(f"images have different channel counts {sorted(shapes)}; "
                         "convert with to_grayscale or to_rgb first")
    if not batch:
        return np.asarray(images).reshape((0, height, width) + np.asarray(images).shape[3:])
    return np.stack([_resize_one(image, height, width, code) for image in batch])


def _batch(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be (n, H, W) or (n, H, W, C), got shape {images.shape}")
    return images


def _minmax_apply(values: np.ndarray, smallest: np.ndarray, scale: np.ndarray, low: float,
                  out_type: np.dtype) -> np.ndarray:
    """``values * scale + shift`` rounded the way ``cv2.normalize`` rounds for ``out_type``."""
    if out_type == np.float32:  # OpenCV rounds scale and shift to float32 for a float32 result
        scale32 = scale.astype(np.float32).astype(np.float64)
        shift32 = np.float32(low) - (smallest * scale32).astype(np.float32)
        return (values * scale32 + shift32.astype(np.float64)).astype(np.float32)
    shift = low - smallest * scale
    if not np.issubdtype(out_type, np.integer):
        return (values * scale + shift).astype(out_type)
    # integer results: float32 coefficients, one fused multiply-add, round half to even
    fused = values * scale.astype(np.float32) + shift.astype(np.float32).astype(np.float64)
    limits = np.iinfo(out_type)
    return np.clip(np.rint(fused.astype(np.float32)), limits.min, limits.max).astype(out_type)


def minmax_normalize(images: np.ndarray, per_channel: bool = True, low: float = 0.0,
                     high: float = 1.0, dtype: Any = "float32") -> np.ndarray:
    """Stretch each image (and channel) so its minimum becomes ``low`` and maximum ``high``.

    Equal to ``cv2.normalize(image, None, low, high, cv2.NORM_MINMAX, dtype)`` applied to
    each image, and to each channel separately when ``per_channel`` (seed 000 normalises
    the RGB channels independently); ``per_channel=False`` is what ``cv2.normalize`` does to
    a whole colour image. A constant image (or channel) becomes ``low``. Integer results
    are rounded half to even and clipped, as OpenCV does.
    """
    images = _batch(images)
    low, high = min(low, high), max(low, high)
    axes = (1, 2) if per_channel or images.ndim == 3 else (1, 2, 3)
    values = images.astype(np.float64)
    smallest = values.min(axis=axes, keepdims=True)
    spread = values.max(axis=axes, keepdims=True) - smallest
    scale = (high - low) * (1.0 / np.where(spread > np.finfo(np.float64).eps, spread, np.inf))
    return _minmax_apply(values, smallest, scale, low, np.dtype(dtype))


def _with_channels(images: np.ndarray) -> np.ndarray:
    images = _batch(images)
    return images[..., None] if images.ndim == 3 else images


def _chunked_sums(images: np.ndarray, axes: tuple[int, ...], chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum and sum of squares in float64, a chunk of images at a time (bounded memory)."""
    total = squares = 0.0
    for start in range(0, len(images), chunk):
        part = images[start:start + chunk].astype(np.float64)
        total = total + part.sum(axis=axes)
        squares = squares + np.square(part).sum(axis=axes)
    return np.asarray(total), np.asarray(squares)


class Standardizer:
    """Zero mean, unit variance, with statistics from the training images only.

    Seed 001 fitted a StandardScaler on every image before splitting, which lets test
    pixels shape the training inputs. Fit this on the training split, then transform any
    split with the same numbers; ``get_config()`` / ``from_config()`` save and restore them.

    Args:
        per: ``"channel"`` (one mean/std per colour channel) or ``"pixel"`` (one per pixel
            and channel, as a StandardScaler on flattened images). A std of 0 becomes 1.
    """

    def __init__(self, per: Literal["channel", "pixel"] = "channel"):
        _check_choice("per", per, ("channel", "pixel"))
        self.per = per
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    @property
    def is_fitted(self) -> bool:
        return self.mean is not None

    def fit(self, images: np.ndarray, chunk: int = 1024) -> "Standardizer":
        """Compute the mean and std of ``images`` (``(n, H, W)`` or ``(n, H, W, C)``)."""
        images = _with_channels(images)
        if len(images) == 0:
            raise ValueError("Standardizer.fit: got no images; fit on the training images")
        axes = (0, 1, 2) if self.per == "channel" else (0,)
        total, squares = _chunked_sums(images, axes, chunk)
        count = np.prod([images.shape[a] for a in axes])
        self.mean = total / count
        std = np.sqrt(np.maximum(squares / count - self.mean ** 2, 0.0))
        self.std = np.where(std < 1e-8, 1.0, std)
        return self

    def fit_split(self, samples: Samples, split: str = "train") -> "Standardizer":
        """Fit on the in-memory images of one split (the training split) of ``samples``."""
        part = samples.split(split)
        if len(part) == 0:
            present = sorted(samples.frame["split"].astype(str).unique())
            raise ValueError(f"{_name(samples)}: split {split!r} has no rows (splits: {present})")
        if part.images is None:
            raise ValueError(f"{_name(samples)}: images are not loaded; call read_images() first")
        return self.fit(part.images[part.frame["image_index"].to_numpy()])

    def transform(self, images: np.ndarray) -> np.ndarray:
        """``(images - mean) / std`` as float32, in the input's shape."""
        if not self.is_fitted:
            raise RuntimeError("Standardizer.transform called before fit: fit it on the "
                               "training images first (fit or fit_split)")
        batch = _with_channels(images)
        expected = self.mean.shape if self.per == "pixel" else self.mean.shape[-1:]
        if batch.shape[-len(expected):] != expected:
            raise ValueError(f"Standardizer fitted on shape {expected} (per={self.per!r}), "
                             f"got images of shape {batch.shape[1:]}")
        result = ((batch - self.mean) / self.std).astype(np.float32)
        return result.reshape(np.shape(images))

    def fit_transform(self, images: np.ndarray) -> np.ndarray:
        return self.fit(images).transform(images)

    def get_config(self) -> dict:
        """Plain-Python settings and statistics (JSON/YAML-safe)."""
        return {"per": self.per,
                "mean": None if self.mean is None else self.mean.tolist(),
                "std": None if self.std is None else self.std.tolist()}

    @classmethod
    def from_config(cls, config: dict) -> "Standardizer":
        standardizer = cls(per=config.get("per", "channel"))
        if config.get("mean") is not None:
            standardizer.mean = np.asarray(config["mean"], dtype=np.float64)
            standardizer.std = np.asarray(config["std"], dtype=np.float64)
        return standardizer


def _cv2_pixels(image: np.ndarray) -> np.ndarray:
    return image if image.dtype in (np.uint8, np.uint16, np.float32) else image.astype(np.float32)


def to_grayscale(images: np.ndarray, order: Literal["rgb", "bgr"] = "rgb") -> np.ndarray:
    """``(n, H, W, 1)`` grey images from RGB(A) or BGR(A) ones (OpenCV's BT.601 weights).

    Grey input, ``(n, H, W)`` or ``(n, H, W, 1)``, comes back as ``(n, H, W, 1)`` unchanged.
    """
    batch = _with_channels(images)
    channels = batch.shape[-1]
    if channels == 1:
        return batch.copy()
    codes = {("rgb", 3): cv2.COLOR_RGB2GRAY, ("rgb", 4): cv2.COLOR_RGBA2GRAY,
             ("bgr", 3): cv2.COLOR_BGR2GRAY, ("bgr", 4): cv2.COLOR_BGRA2GRAY}
    _check_choice("order", order, ("rgb", "bgr"))
    if (order, channels) not in codes:
        raise ValueError(f"to_grayscale needs 1, 3 or 4 channels, got {channels}")
    grey = [cv2.cvtColor(_cv2_pixels(image), codes[order, channels]) for image in batch]
    return np.stack(grey)[..., None] if grey else batch[..., :1].copy()


def to_rgb(images: np.ndarray) -> np.ndarray:
    """``(n, H, W, 3)`` images: grey ones repeated on three channels, RGB ones unchanged."""
    batch = _with_channels(images)
    if batch.shape[-1] == 3:
        return batch.copy()
    if batch.shape[-1] != 1:
        raise ValueError(f"to_rgb needs 1 or 3 channels, got {batch.shape[-1]}")
    return np.repeat(batch, 3, axis=-1)


# ----------------------------------------------------------------------------- faces
def haar_cascade_path(name: str = FRONTAL_FACE_CASCADE) -> Path:
    """The path of a Haar cascade XML file shipped inside the installed ``cv2`` package."""
    folder = Path(getattr(getattr(cv2, "data", None), "haarcascades", "") or ".")
    has_classifier = hasattr(cv2, "CascadeClassifier")
    if has_classifier and (folder / name).is_file():
        return folder / name
    missing = f"no {name} in {folder}" if has_classifier else "no CascadeClassifier and no cascade files"
    ways_out = "pass HaarFaceDetector(cascade_path=...) or " if has_classifier else ""
    raise FileNotFoundError(
        f"OpenCV {cv2.__version__} has {missing} (OpenCV 5 wheels ship neither); install "
        f"opencv-python-headless<5, or {ways_out}give detect_faces/crop_faces your own detector=")


def haar_available() -> bool:
    """Whether the frontal-face Haar cascade can be loaded from the installed OpenCV."""
    try:
        haar_cascade_path()
    except FileNotFoundError:
        return False
    return True


class HaarFaceDetector:
    """OpenCV's Viola-Jones frontal-face detector as a ``detector(grey) -> boxes`` callable.

    Args:
        cascade_path: an XML cascade (default: the frontal-face cascade shipped in ``cv2``).
        scale_factor, min_neighbors, min_size: ``detectMultiScale`` settings.
        equalize: equalise the histogram first (helps on dark or low-contrast photos).
    """

    def __init__(self, cascade_path: str | Path | None = None, scale_factor: float = 1.1,
                 min_neighbors: int = 5, min_size: tuple[int, int] = (24, 24), equalize: bool = True):
        if not hasattr(cv2, "CascadeClassifier"):
            haar_cascade_path()  # raises with the explanation
        path = Path(cascade_path) if cascade_path is not None else haar_cascade_path()
        self.classifier = cv2.CascadeClassifier(str(path))
        if self.classifier.empty():
            raise OSError(f"cannot load Haar cascade {path}: missing or not a cascade XML file")
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors
        self.min_size, self.equalize = tuple(min_size), equalize

    def __call__(self, grey: np.ndarray) -> list[FaceBox]:
        grey = cv2.equalizeHist(grey) if self.equalize else grey
        boxes = self.classifier.detectMultiScale(grey, scaleFactor=self.scale_factor,
                                                 minNeighbors=self.min_neighbors, minSize=self.min_size)
        return [tuple(int(v) for v in box) for box in np.reshape(boxes, (-1, 4))]


@functools.lru_cache(maxsize=1)
def _default_detector() -> HaarFaceDetector:
    return HaarFaceDetector()


def _grey_uint8(image: np.ndarray) -> np.ndarray:
    grey = to_grayscale(np.asarray(image)[None])[0, ..., 0]
    if grey.dtype != np.uint8:
        grey = cv2.normalize(grey.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX, dtype=cv2.CV_8U)
    return grey


def detect_faces(image: np.ndarray, detector: Detector | None = None) -> list[FaceBox]:
    """Face boxes ``(x, y, width, height)`` in one ``(H, W)`` or ``(H, W, C)`` image, largest first.

    ``detector`` gets a 2-D uint8 grey image and returns boxes; the default is a
    :class:`HaarFaceDetector` with OpenCV's frontal-face cascade.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"detect_faces takes one (H, W) or (H, W, C) image, got shape {image.shape}")
    found = (detector or _default_detector())(_grey_uint8(image))
    boxes = [tuple(int(v) for v in box) for box in found]
    for box in boxes:
        if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
            raise ValueError(f"detector returned {box!r}; expected (x, y, width, height) with positive sizes")
    return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def expand_box(box: Sequence[int], image_shape: Sequence[int], margin: float) -> FaceBox:
    """``box`` grown by ``margin`` of its width/height on every side, clipped to the image."""
    x, y, w, h = box
    height, width = image_shape[:2]
    x0, y0 = max(0, int(round(x - margin * w))), max(0, int(round(y - margin * h)))
    x1, y1 = min(width, int(round(x + w + margin * w))), min(height, int(round(y + h + margin * h)))
    return x0, y0, x1 - x0, y1 - y0


def _as_channels(image: np.ndarray, channels: int) -> np.ndarray:
    batch = _with_channels(np.asarray(image)[None])
    if channels == 1:
        return to_grayscale(batch)[0]
    return to_rgb(batch[..., :3] if batch.shape[-1] == 4 else batch)[0]


def _output_channels(samples: Samples, channels: int | None) -> int:
    if channels is None:
        if samples.images is None or samples.images.ndim == 3:
            return 1
        channels = samples.images.shape[-1]
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    return channels


def _crop_one(image: np.ndarray, boxes: list[FaceBox], margin: float, size: tuple[int, int],
              no_face: str) -> tuple[np.ndarray | None, dict]:
    if not boxes:
        action = "kept uncropped: no face found" if no_face == "keep" else "dropped: no face found"
        kept = _resize_one(image, *size, cv2.INTER_AREA) if no_face == "keep" else None
        return kept, dict(faces=0, action=action, x=None, y=None, width=None, height=None)
    x, y, w, h = expand_box(boxes[0], image.shape, margin)
    code = cv2.INTER_AREA if w >= size[1] else cv2.INTER_CUBIC
    crop = _resize_one(image[y:y + h, x:x + w], *size, code)
    action = "cropped" if len(boxes) == 1 else f"cropped the largest of {len(boxes)} faces"
    return crop, dict(faces=len(boxes), action=action, x=x, y=y, width=w, height=h)


def crop_faces(samples: Samples, out_dir: str | Path | None = None, margin: float = 0.2,
               size: int | Sequence[int] = (48, 48), *, detector: Detector | None = None,
               no_face: Literal["keep", "drop"] = "keep",
               channels: int | None = None) -> tuple[Samples, pd.DataFrame]:
    """Crop the largest face of every image, grown by ``margin``, and resize it to ``size``.

    Args:
        out_dir: write the crops as PNG files there (``<row>.png`` or ``<row>_<stem>.png``)
            and return path samples; ``None`` returns in-memory images.
        margin: extra border around the detected box, as a fraction of its size.
        detector: ``detector(grey_uint8) -> [(x, y, w, h), ...]``; default Haar frontal face.
        no_face: for an image without a face, ``"keep"`` it whole (resized) or ``"drop"`` it.
        channels: 1 or 3 output channels (default: those of the in-memory images; 1 for files).

    Returns:
        ``(cropped, report)``. The report has one row per input image: ``row``, where it came
        from, ``faces`` found, ``action`` taken, the crop box ``x, y, width, height`` in the
        source image (missing when not cropped) and ``new_row`` (missing when dropped).
        Filter ``report[report.faces != 1]`` for the images that need a look.
    """
    _check_choice("no_face", no_face, ("keep", "drop"))
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    size, channels = _size(size), _output_channels(samples, channels)
    crops, records = [], []
    for row, image in _images(samples, cv2.IMREAD_COLOR if channels == 3 else cv2.IMREAD_GRAYSCALE):
        try:
            boxes = detect_faces(image, detector)
        except ValueError as error:
            raise ValueError(f"{_name(samples)}, row {row}: {error}") from None
        crop, record = _crop_one(_as_channels(image, channels), boxes, margin, size, no_face)
        record.update(row=row, new_row=len(crops) if crop is not None else None)
        records.append(record)
        if crop is not None:
            crops.append(crop)
    report = _crop_report(samples, records)
    kept_rows = report.loc[report["new_row"].notna(), "row"].to_numpy()
    images = np.stack(crops) if crops else np.empty((0, *size, channels), np.uint8)
    return _cropped_samples(samples, kept_rows, images, out_dir, report), report


def _crop_report(samples: Samples, records: list[dict]) -> pd.DataFrame:
    report = pd.DataFrame(records, columns=["row", "faces", "action", "x", "y", "width", "height", "new_row"])
    where = samples.frame[_where_columns(samples)].reset_index(drop=True)
    report = pd.concat([report[["row"]], where, report.drop(columns=["row"])], axis=1)
    return report.astype({c: "Int64" for c in ("x", "y", "width", "height", "new_row")})


def _cropped_samples(samples: Samples, kept_rows: np.ndarray, images: np.ndarray,
                     out_dir: str | Path | None, report: pd.DataFrame) -> Samples:
    frame = samples.frame.iloc[kept_rows].reset_index(drop=True)
    if out_dir is None:
        frame = frame.assign(image_index=np.arange(len(frame)))
        return dataclasses.replace(samples, frame=frame, images=images)
    paths = _write_crops(Path(out_dir), samples, kept_rows, images)
    report.loc[report["new_row"].notna(), "output"] = paths
    if "path" in frame.columns:
        frame = frame.rename(columns={"path": "source_path"})
    frame = frame.drop(columns=[c for c in ("image_index",) if c in frame.columns]).assign(path=paths)
    return dataclasses.replace(samples, frame=frame, images=None)


def _write_crops(out_dir: Path, samples: Samples, rows: np.ndarray, images: np.ndarray) -> list[str]:
    if images.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"crop_faces(out_dir=...) writes PNG files, which need uint8 or uint16 "
                         f"images; {_name(samples)} holds {images.dtype}")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for row, image in zip(rows, images):
        stem = f"_{Path(samples.frame['path'].iat[row]).stem}" if "path" in samples.frame.columns else ""
        path = out_dir / f"{row:06d}{stem}.png"
        pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.shape[-1] == 3 else image
        if not cv2.imwrite(str(path), pixels):
            raise OSError(f"cannot write cropped image {path}")
        paths.append(str(path))
    return paths
