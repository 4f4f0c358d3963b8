"""Duplicate images: exact and perceptual hashes, duplicate groups, reports and removal.

Real FER2013 holds 1,513 groups of pixel-identical images, some shared by Training and
PublicTest (test leakage) and a few whose copies carry different labels.
:func:`find_duplicates` groups identical (``kind="exact"``, a SHA-1 of the pixels) or
near-identical (``kind="perceptual"``, a 64-bit DCT hash compared by Hamming distance)
images; :func:`duplicate_report` counts groups, cross-split groups and label conflicts;
:func:`drop_duplicates` removes copies by an explicit policy and returns what it removed;
:func:`with_duplicate_groups` adds a column that :func:`ferkit.data.splits.assert_disjoint`
and :func:`~ferkit.data.splits.group_split` understand. Row numbers in reports are
positions in ``samples.frame``.
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Literal, Sequence

import cv2
import numpy as np
import pandas as pd

from ferkit.data.cleaning.common import iter_images, source_name, where_columns
from ferkit.data.images import resize_image
from ferkit.data.samples import Samples

DuplicateKind = Literal["exact", "perceptual"]
AcrossSplits = Literal["drop_from_eval", "drop_all", "keep_per_split"]

#: Hamming distance (of 64 bits) under which two perceptual hashes count as the same image.
DEFAULT_MAX_DISTANCE = 8
HASH_SIDE = 32          # images shrink to 32x32 before the DCT
HASH_LOW = 8            # the 8x8 lowest frequencies give the 64 bits


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
    small = resize_image(_grey_float(image), (HASH_SIDE, HASH_SIDE), "area")[..., 0]
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
               for row, image in iter_images(samples)]
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
        raise ValueError(f"{source_name(samples)}: hashes must be image_hashes() of these samples "
                         f"(rows 0..{len(samples) - 1} in order), got {len(hashes)} rows")
    keys = pd.Series(_cluster_keys(hashes, kind, distance_limit), index=hashes["row"].to_numpy())
    sizes = keys.map(keys.value_counts())
    grouped = keys[sizes > 1].sort_index()
    group_of_key = {key: g for g, key in enumerate(pd.unique(grouped.to_numpy()))}
    return _member_frame(samples, hashes, grouped.index.to_numpy(), grouped.map(group_of_key).to_numpy())


def _member_frame(samples: Samples, hashes: pd.DataFrame, rows: np.ndarray,
                  groups: np.ndarray) -> pd.DataFrame:
    frame = samples.frame
    columns = where_columns(samples) + [c for c in ("split",) if c in frame.columns] + ["label"]
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
        raise ValueError(f"{source_name(samples)}: train_split {train_split!r} is not a split of this "
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


def check_choice(name: str, value: str, allowed: Sequence[str]):
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
    check_choice("keep", keep, ("first", "last"))
    check_choice("across_splits", across_splits, ("drop_from_eval", "drop_all", "keep_per_split"))
    check_choice("conflicting_labels", conflicting_labels, ("drop", "keep"))
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
