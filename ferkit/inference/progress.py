"""A dependency-free progress bar on stderr for folders and videos.

It draws only when asked to, or (``enabled=None``) when stderr is a terminal, so logs, pipes
and tests stay clean; ``ferkit predict --quiet`` turns it off.
"""
from __future__ import annotations

import sys
import time
from typing import IO, Iterable, Iterator, TypeVar

T = TypeVar("T")
BAR_WIDTH = 28
#: Seconds between redraws (the last step always draws).
REDRAW_EVERY_S = 0.1


def progress_enabled(enabled: bool | None, stream: IO[str] | None = None) -> bool:
    """``enabled`` as given, or for ``None`` whether ``stream`` (stderr) is a terminal."""
    if enabled is not None:
        return bool(enabled)
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def progress_line(label: str, done: int, total: int | None, elapsed_s: float) -> str:
    """``label [#####.....] 12/40 3.1s``, or ``label 12 3.1s`` when the total is unknown."""
    if not total:
        return f"{label} {done} {elapsed_s:.1f}s"
    filled = round(BAR_WIDTH * min(done, total) / total)
    return f"{label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} {elapsed_s:.1f}s"


def progress(items: Iterable[T], label: str, total: int | None = None,
             enabled: bool | None = None, stream: IO[str] | None = None) -> Iterator[T]:
    """Yield ``items``, redrawing one status line on ``stream`` (stderr) as they pass."""
    if not progress_enabled(enabled, stream):
        yield from items
        return
    stream = stream or sys.stderr
    start = last = time.monotonic()
    done = 0
    try:
        for item in items:
            yield item
            done += 1
            now = time.monotonic()
            if now - last >= REDRAW_EVERY_S or done == total:
                stream.write("\r" + progress_line(label, done, total, now - start))
                stream.flush()
                last = now
    finally:
        stream.write("\r" + progress_line(label, done, total, time.monotonic() - start) + "\n")
        stream.flush()


__all__ = ["progress", "progress_enabled", "progress_line"]
