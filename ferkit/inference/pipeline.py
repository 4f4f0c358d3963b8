"""The plumbing that makes folders fast: reading images ahead on a thread pool, finding the
next chunk's faces while the current chunk's are predicted, and a record of where the time goes
(decode, detect, align/crop, model, write).

:class:`ReadAhead` decodes the next chunk of files on worker threads while the caller detects
and predicts on the current one; chunks and the images in them keep the order of the paths.
:func:`overlapped` runs one step (face detection) of the next chunk on a thread while the
caller runs the following steps (crops, the model) of the current one. OpenCV and TensorFlow
release the GIL while they compute, so these threads keep both cores busy.
:class:`StageTimes` adds up wall-clock seconds per stage of :class:`ferkit.inference.Predictor`.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import numbers
import time
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")
#: The stages of a prediction, in pipeline order (the keys of :class:`StageTimes`).
STAGES = ("decode", "detect", "align/crop", "model", "write")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` as consecutive lists of ``size`` (the last one shorter)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def check_count(name: str, value: int, minimum: int) -> int:
    """``value`` as an int, or a ValueError naming ``name``, the value and the allowed range."""
    whole = (isinstance(value, numbers.Integral) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer())
    if not whole or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def check_speed_options(speed: dict) -> None:
    """Raise a TypeError naming any keyword that is not one of the predictor's speed knobs."""
    unknown = sorted(set(speed) - {"batch_size", "detect_size", "workers"})
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {unknown}; the speed options are "
                        "batch_size, detect_size and workers")


def overlapped(items: Iterable[T], step: Callable[[T], R], *,
               background: bool) -> Iterator[tuple[T, R]]:
    """``(item, step(item))`` for each item, in order.

    With ``background``, ``step`` of the next item runs on a thread of its own while the caller
    works on the current one (one item ahead, one ``step`` at a time); without, ``step`` runs in
    the caller, item after item. An error in ``step`` is raised where that item is yielded.
    """
    if not background:
        for item in items:
            yield item, step(item)
        return
    with concurrent.futures.ThreadPoolExecutor(1, "ferkit-ahead") as pool:
        pending = None
        for item in items:
            future = pool.submit(step, item)
            if pending is not None:
                yield pending[0], pending[1].result()
            pending = (item, future)
        if pending is not None:
            yield pending[0], pending[1].result()


class StageTimes:
    """Wall-clock seconds spent in each of :data:`STAGES`, added up over calls.

    Stages that run on different threads at once (a chunk's detection beside the previous
    chunk's model) are each timed in full, so the stages can add up to more than the total.
    """

    def __init__(self):
        self.seconds = dict.fromkeys(STAGES, 0.0)

    @contextlib.contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        """Add the time the ``with`` block takes to ``stage``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start

    def reset(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)

    def total(self) -> float:
        return sum(self.seconds.values())


class ReadAhead:
    """``read(path)`` of every path, chunk by chunk, with the next chunk read on ``workers``
    threads while the caller works on the current one (``workers=0``: read in the caller).

    Use it as a context manager; iterating gives ``[(path, read(path)), ...]`` per chunk in
    the order of ``paths``. At most two chunks of images are read ahead at a time.
    :meth:`in_background` runs other work (writing pictures) on the same threads.
    """

    def __init__(self, paths: Iterable, read: Callable, *, chunk_size: int, workers: int):
        self.paths, self.read = paths, read
        self.chunk_size = check_count("chunk_size", chunk_size, 1)
        self.workers = check_count("workers", workers, 0)
        self.pool = (concurrent.futures.ThreadPoolExecutor(self.workers, "ferkit-read")
                     if self.workers else None)
        self._background: list[concurrent.futures.Future] = []

    def __enter__(self) -> "ReadAhead":
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def __iter__(self) -> Iterator[list[tuple]]:
        path_chunks = chunks(self.paths, self.chunk_size)
        if self.pool is None:
            for chunk in path_chunks:
                yield [(path, self.read(path)) for path in chunk]
            return
        pending = self._submit(next(path_chunks, []))
        while pending:
            following = self._submit(next(path_chunks, []))
            yield [(path, future.result()) for path, future in pending]
            pending = following

    def in_background(self, fn: Callable, *args) -> None:
        """Run ``fn(*args)`` on the threads (at once without them); :meth:`wait` re-raises."""
        if self.pool is None:
            fn(*args)
        else:
            self._background.append(self.pool.submit(fn, *args))

    def wait(self) -> None:
        """Wait for the :meth:`in_background` work; the first error is raised here."""
        background, self._background = self._background, []
        for future in background:
            future.result()

    def _submit(self, chunk: Sequence) -> list[tuple]:
        return [(path, self.pool.submit(self.read, path)) for path in chunk]


__all__ = ["ReadAhead", "StageTimes", "overlapped", "STAGES", "chunks", "check_count", "check_speed_options"]
