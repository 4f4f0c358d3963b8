"""Shared fixtures: small synthetic CK+ trees written once per session."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's multi-threaded AVX-512 kernels abort ("corrupted double-linked list") while
# training some 8-channel multitask ResNets, the tests' tiny sizes, on AVX-512 CPUs. The suite
# therefore runs on TensorFlow's own kernels (capping oneDNN at AVX2 instead breaks its
# bfloat16 convolutions). TensorFlow's bug, not ferkit's: docs/guide/installation.md#troubleshooting.
# Set before TensorFlow loads; subprocesses (examples, CLI) inherit it.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import pytest  # noqa: E402

from ferkit.data import synthetic  # noqa: E402

TREE = dict(n_subjects=6, sequences_per_subject=7, frames_per_sequence=4, seed=3)


@pytest.fixture(scope="session")
def ckplus_full(tmp_path_factory):
    """A synthetic CK+ tree in the full distribution layout."""
    return synthetic.write_ckplus(tmp_path_factory.mktemp("ck_full"), layout="full", **TREE)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, ckplus_full):
    """A run directory of a tiny model trained one epoch on ``ckplus_full``, built once."""
    from ferkit.config import config_from_dict
    from ferkit.workflows import run_experiment

    config = config_from_dict({
        "augment": None, "data": {"min_au_count": 2, "path": str(ckplus_full)},
        "model": {"args": {"filters": [4], "blocks": [1], "stem_filters": 4}},
        "train": {"epochs": 1, "jit_compile": False, "verbose": 0}})
    run = tmp_path_factory.mktemp("tiny_trained_run")
    run_experiment(config, run)
    return run


@pytest.fixture(scope="session")
def ckplus_48(tmp_path_factory):
    """A synthetic CK+48 class-folder tree with a FACS/ tree."""
    return synthetic.write_ckplus(tmp_path_factory.mktemp("ck_48"), layout="ck48", **TREE)


def pytest_collection_modifyitems(config, items):
    """Drop ``tf.test.TestCase.test_session``: a helper of TF's test base class (used by TFDS's
    DatasetBuilderTestCase) that pytest would otherwise list as a skipped test."""
    helpers = [item for item in items if item.name == "test_session"]
    if helpers:
        config.hook.pytest_deselected(items=helpers)
        items[:] = [item for item in items if item.name != "test_session"]


def write_video(path, frames, fps=10.0) -> str:
    """Write grey ``frames`` as an MJPG ``.avi`` (what the video tests read back)."""
    import cv2

    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MJPG .avi files here"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return str(path)


def load_script(path, name: str):
    """Import a script (an example or the docs generator) as module ``name``.

    It is registered in ``sys.modules`` first, because dataclasses look their module up there.
    """
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
