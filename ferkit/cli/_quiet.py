"""Keep TensorFlow's start-up chatter off a running command's stderr.

TensorFlow writes two kinds of start-up lines. Its own C++ logging ("cpu_feature_guard",
"failed call to cuInit", XLA's service lines) honours ``TF_CPP_MIN_LOG_LEVEL``, but only when
the variable is set before TensorFlow loads. Abseil's logging, which TensorFlow's libraries use
while they load ("oneDNN custom operations are on", "Could not find cuda drivers", and the
"All log messages before absl::InitializeLog() is called" header), ignores that variable and
has no switch reachable from Python: it writes to file descriptor 2 before anything could
configure it. So the CLI sets the variable and holds descriptor 2 back while ``tensorflow``
itself is imported; afterwards it writes back every held line that is not start-up noise, so
an error or a Python warning raised during the import still shows.

Nothing here runs on ``import ferkit``: only :func:`ferkit.cli.main` calls
:func:`quiet_tensorflow`, and ``--verbose`` or a ``TF_CPP_MIN_LOG_LEVEL`` the user set turns it
off. ``TF_ENABLE_ONEDNN_OPTS`` is never touched, since it changes numerical results.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator

#: TF_CPP_MIN_LOG_LEVEL the CLI sets when the user set none: 3 hides TensorFlow's C++ INFO,
#: WARNING and ERROR lines (on a machine without a GPU, "failed call to cuInit" is an ERROR).
#: Python exceptions, and so every failure a command reports, are unaffected.
QUIET_TF_LOG_LEVEL = "3"

#: The prefix of an Abseil log line, e.g. ``I0000 00:00:1796347642.979724    6606 port.cc:153] ``.
_ABSL_PREFIX = r"\d{4} [\d:.]+ +\d+ [\w.\-]+:\d+\] "

#: A start-up line: Abseil's header, an Abseil INFO or WARNING line, or one of the ERROR lines
#: a GPU build prints while it loads although nothing failed (CUDA plugins registered twice).
#: Every other ERROR line is kept.
START_UP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    rf"|[IW]{_ABSL_PREFIX}"
    rf"|E{_ABSL_PREFIX}(Unable to register cu\w+ factory|computation placer already registered))")


def is_start_up_noise(line: str) -> bool:
    """Whether ``line`` is one of TensorFlow's start-up log lines (not an error)."""
    return START_UP_NOISE.match(line) is not None


def quiet_tensorflow(verbose: bool) -> None:
    """Hide TensorFlow's start-up lines for the rest of this process.

    Sets ``TF_CPP_MIN_LOG_LEVEL`` and mutes the first ``import tensorflow``. Does nothing with
    ``verbose``, when the user chose a ``TF_CPP_MIN_LOG_LEVEL`` (their choice stands), or when
    TensorFlow is already loaded (too late to hide anything). Calling it twice is harmless.
    """
    if verbose or "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = QUIET_TF_LOG_LEVEL
    if not any(isinstance(finder, MuteTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, MuteTensorFlowImport())


class MuteTensorFlowImport(importlib.abc.MetaPathFinder):
    """A one-shot import hook: the first ``import tensorflow`` runs with stderr held back.

    It finds TensorFlow the normal way (after taking itself off ``sys.meta_path``) and wraps
    the loader, so TensorFlow still loads only when a command needs it.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _MutedLoader(spec.loader)
        return spec


class _MutedLoader(importlib.abc.Loader):
    """Runs the wrapped loader's ``exec_module`` inside :func:`held_back_stderr`."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with held_back_stderr():
            self._loader.exec_module(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


@contextlib.contextmanager
def held_back_stderr() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file for the block, then write back what it held:
    everything if the block raised, else every line that is not :func:`is_start_up_noise`."""
    _flush_stderr()
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to hide
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            _flush_stderr()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            _write_back(held.read(), keep_all=failed)


def _write_back(data: bytes, keep_all: bool) -> None:
    lines = data.decode("utf-8", "replace").splitlines(keepends=True)
    kept = "".join(line for line in lines if keep_all or not is_start_up_noise(line))
    remaining = kept.encode("utf-8")
    while remaining:
        remaining = remaining[os.write(2, remaining):]


def _flush_stderr() -> None:
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
