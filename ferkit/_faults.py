"""Fault injection for the kill -9 tests: die at a named point, as a power cut would.

``FERKIT_FAULT_KILL_AT=<event>:<n>`` makes the process ``SIGKILL`` itself the ``n``-th time
(from 1) it reaches ``event``. Without the variable nothing here does anything. Events:

- ``write:<file name>``: a file is about to replace ``<file name>`` by ``os.replace`` (every
  atomic write of ferkit, e.g. ``write:run.json``, ``write:model.keras`` for the best-epoch
  checkpoint, ``write:backup.json`` for the epoch backup, ``write:oracle.json`` /
  ``write:trial.json`` / ``write:ferkit_trial.json`` for a search's state): its new content
  is complete in a temporary file, the old file is still in place;
- ``batch`` and ``epoch``: the end of a training batch / epoch.

:func:`install` (called when :mod:`ferkit.training.fit` is imported) hooks ``os.replace``
for the ``write:`` events, and only while the variable is set. Standard library only.
"""
from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "FERKIT_FAULT_KILL_AT"

_reached: Counter[str] = Counter()


def target() -> tuple[str, int] | None:
    """The ``(event, n)`` of ``FERKIT_FAULT_KILL_AT``; None when it is unset."""
    spec = os.environ.get(ENV)
    if not spec:
        return None
    event, _, count = spec.rpartition(":")
    if not event or not count.isdigit() or int(count) < 1:
        raise ValueError(f"{ENV}={spec!r}: expected <event>:<n> with n >= 1, e.g. "
                         "'write:run.json:1' or 'batch:5'")
    return event, int(count)


def armed() -> bool:
    """Whether a kill point is set for this process."""
    return target() is not None


def reached(event: str) -> None:
    """Count ``event``; ``SIGKILL`` this process when it is the armed event's ``n``-th time."""
    armed_at = target()
    if armed_at is None or armed_at[0] != event:
        return
    _reached[event] += 1
    if _reached[event] == armed_at[1]:
        os.kill(os.getpid(), signal.SIGKILL)


def install() -> None:
    """Reach ``write:<name>`` before every ``os.replace`` onto a file called ``<name>``
    (once per process, and only when a kill point is set)."""
    if not armed() or getattr(os.replace, "ferkit_fault_point", False):
        return
    replace = os.replace

    def replace_or_die(src, dst, *args, **kwargs):
        reached(f"write:{os.path.basename(os.fspath(dst))}")
        return replace(src, dst, *args, **kwargs)

    replace_or_die.ferkit_fault_point = True
    os.replace = replace_or_die
