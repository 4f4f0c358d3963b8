"""A running command hides TensorFlow's start-up lines unless ``--verbose``; ``import ferkit``
changes no environment variable."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from ferkit.cli._quiet import is_start_up_noise

#: Pieces of TensorFlow's start-up lines (absl header, oneDNN, CUDA probe, CPU features).
NOISE = ("absl::InitializeLog", "oneDNN custom operations", "cudart_stub", "cuda drivers",
         "cpu_feature_guard", "cuInit")

ABSL_HEADER = ("WARNING: All log messages before absl::InitializeLog() is called are written "
               "to STDERR")
ABSL_INFO = ("I0000 00:00:1796347642.979724    6606 port.cc:153] oneDNN custom operations are on."
             " You may see slightly different numerical results.")
ABSL_ERROR = "E0000 00:00:1796347642.980210    6606 some_module.cc:31] a real failure"


def tensorflow_free_env(**extra) -> dict:
    """This environment without the variables the user could set to choose TF's logging."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}
    return {**env, **extra}


def python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=600, env=env)


def test_start_up_noise_is_absl_info_and_warning_lines_not_errors():
    assert is_start_up_noise(ABSL_HEADER) and is_start_up_noise(ABSL_INFO)
    assert is_start_up_noise(ABSL_INFO.replace("I0000", "W0000"))
    assert not is_start_up_noise(ABSL_ERROR)
    assert is_start_up_noise("E0000 00:00:1796347642.980210    6606 cuda_fft.cc:467] Unable to "
                             "register cuFFT factory: Attempting to register factory for plugin "
                             "cuFFT when one has already been registered")
    assert not is_start_up_noise("UserWarning: something the user should see")


@pytest.fixture
def fake_tensorflow(tmp_path):
    """A ``tensorflow`` package that writes start-up noise, an error line and a Python warning
    to file descriptor 2 when imported (and raises if FAKE_TF_FAILS is set)."""
    package = tmp_path / "fake" / "tensorflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(f"""
        import os, warnings
        os.write(2, b{ABSL_HEADER + chr(10) + ABSL_INFO + chr(10) + ABSL_ERROR + chr(10)!r})
        warnings.warn("kept warning")
        if os.environ.get("FAKE_TF_FAILS"):
            raise ImportError("fake tensorflow is broken")
        LOADED = True
    """))
    path = os.pathsep.join([str(package.parent), *filter(None, [os.environ.get("PYTHONPATH")])])
    return tensorflow_free_env(PYTHONPATH=path)


IMPORT_QUIETLY = """
    import os, sys
    from ferkit.cli._quiet import quiet_tensorflow
    quiet_tensorflow(verbose={verbose})
    import tensorflow
    assert tensorflow.LOADED
    print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
"""


def test_quiet_import_drops_the_noise_but_keeps_errors_and_warnings(fake_tensorflow):
    done = python(IMPORT_QUIETLY.format(verbose=False), fake_tensorflow)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
    assert ABSL_ERROR in done.stderr and "kept warning" in done.stderr
    assert "absl::InitializeLog" not in done.stderr and "oneDNN" not in done.stderr


def test_verbose_import_shows_everything_and_sets_nothing(fake_tensorflow):
    done = python(IMPORT_QUIETLY.format(verbose=True), fake_tensorflow)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"
    assert ABSL_HEADER in done.stderr and ABSL_INFO in done.stderr


def test_a_level_the_user_chose_is_left_alone(fake_tensorflow):
    done = python(IMPORT_QUIETLY.format(verbose=False), {**fake_tensorflow,
                                                         "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert done.stdout.strip() == "0" and ABSL_INFO in done.stderr


def test_a_failed_import_shows_all_it_printed(fake_tensorflow):
    done = python(IMPORT_QUIETLY.format(verbose=False), {**fake_tensorflow, "FAKE_TF_FAILS": "1"})
    assert done.returncode != 0
    assert ABSL_INFO in done.stderr and "fake tensorflow is broken" in done.stderr


RUN_COMMAND = """
    import sys
    from ferkit.cli import main
    code = main({argv!r})
    import tensorflow as tf
    tf.reduce_sum(tf.ones(2)).numpy()  # a command's first op starts the devices
    sys.exit(code)
"""


def test_a_running_command_prints_no_tensorflow_start_up_lines():
    quiet = python(RUN_COMMAND.format(argv=["models"]), tensorflow_free_env())
    verbose = python(RUN_COMMAND.format(argv=["--verbose", "models"]), tensorflow_free_env())
    assert quiet.returncode == 0 and verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert "seed004_resnet" in quiet.stdout
    if not any(piece in verbose.stderr for piece in NOISE):
        pytest.skip("TensorFlow prints no start-up lines here, even with --verbose")
    printed = [line for line in quiet.stderr.splitlines() if any(n in line for n in NOISE)]
    assert not printed, printed


def test_importing_ferkit_changes_no_environment_variable():
    done = python("""
        import json, os

        def changed(before):
            return sorted(k for k in {*before, *os.environ} if before.get(k) != os.environ.get(k))

        before = dict(os.environ)
        import ferkit, ferkit.cli, ferkit.config, ferkit.errors, ferkit.runs
        light = changed(before)
        import cv2, keras, tensorflow  # libraries' own changes (OpenCV sets LD_LIBRARY_PATH)
        before = dict(os.environ)
        import ferkit.data, ferkit.evaluation, ferkit.models, ferkit.training
        ferkit.cli.build_parser()
        print(json.dumps({"import ferkit": light, "ferkit's packages": changed(before)}))
    """, tensorflow_free_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == {"import ferkit": [], "ferkit's packages": []}
