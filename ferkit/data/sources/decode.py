"""``read_images``: decode the files a :class:`Samples` frame points at into its ``images``."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ferkit.data.images import load_image
from ferkit.data.samples import Samples


def read_images(samples: Samples, size: Sequence[int] = (48, 48), channels: int = 1) -> Samples:
    """Decode every ``path`` of ``samples`` into ``samples.images``, uint8 ``(n, H, W, channels)``.

    Each file goes through :func:`ferkit.data.images.load_image`, the path inference uses
    too: decoded to RGB, converted to ``channels``, resized to ``size`` (area interpolation
    to shrink, cubic to enlarge). Errors name the file that could not be read.
    """
    size = tuple(int(v) for v in size)
    images = np.empty((len(samples), *size, channels), dtype="uint8")
    for i, path in enumerate(samples.frame["path"]):
        images[i] = load_image(path, size, channels)
    frame = samples.frame.assign(image_index=np.arange(len(samples)))
    return dataclasses.replace(samples, frame=frame, images=images)
