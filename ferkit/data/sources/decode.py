"""``read_images``: decode the files a :class:`Samples` frame points at into its ``images``."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ferkit.data.images import OnUnreadable, load_images
from ferkit.data.samples import Samples


def read_images(samples: Samples, size: Sequence[int] = (48, 48), channels: int = 1, *,
                on_unreadable: OnUnreadable = "error") -> Samples:
    """Decode every ``path`` of ``samples`` into ``samples.images``, uint8 ``(n, H, W, channels)``.

    Each file goes through :func:`ferkit.data.images.load_images`, the decoding inference
    uses too: decoded to RGB, converted to ``channels``, resized to ``size`` (area
    interpolation to shrink, cubic to enlarge). An unreadable file is an error naming it, or
    with ``on_unreadable="skip"`` its row is dropped and listed in ``samples.skipped``.
    """
    loaded = load_images(samples.frame["path"].tolist(), size, channels,
                         on_unreadable=on_unreadable, source=samples.source or "dataset")
    frame = samples.frame.iloc[loaded.rows].reset_index(drop=True)
    frame = frame.assign(image_index=np.arange(len(frame)))
    return dataclasses.replace(samples, frame=frame, images=loaded.images,
                               skipped=(*samples.skipped, *loaded.skipped))
