"""``train.mixed_precision: auto``: bfloat16 only where the hardware has bfloat16 units."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from ferkit.config import ConfigError, config_from_dict
from ferkit.training.precision import (bf16_is_fast, cpu_flags, precision_policy,
                                       use_mixed_precision)

AMX_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
AVX2_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])


def _cpuinfo(tmp_path, text):
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return path


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    assert {"amx_bf16", "avx512_bf16", "avx2"} <= cpu_flags(_cpuinfo(tmp_path, AMX_CPU))
    assert cpu_flags(tmp_path / "missing") == set()


def test_auto_turns_bf16_on_only_with_bfloat16_units(tmp_path, no_gpu):
    assert use_mixed_precision("auto", _cpuinfo(tmp_path, AMX_CPU)) is True
    assert use_mixed_precision("auto", _cpuinfo(tmp_path, AVX2_CPU)) is False
    assert bf16_is_fast(tmp_path / "missing") is False
    assert use_mixed_precision(True, _cpuinfo(tmp_path, AVX2_CPU)) is True
    assert use_mixed_precision(False, _cpuinfo(tmp_path, AMX_CPU)) is False


def test_a_gpu_counts_as_fast_bf16(tmp_path, monkeypatch):
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    assert use_mixed_precision("auto", _cpuinfo(tmp_path, AVX2_CPU)) is True


def test_policy_follows_the_setting_and_is_restored():
    with precision_policy(True):
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"
    with precision_policy("auto"):
        assert keras.mixed_precision.global_policy().name == (
            "mixed_bfloat16" if bf16_is_fast() else "float32")
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="true, false or 'auto'"):
        use_mixed_precision("yes")


def test_config_accepts_auto_and_names_a_bad_value():
    assert config_from_dict({"train": {"mixed_precision": "auto"}}).train.mixed_precision == "auto"
    with pytest.raises(ConfigError, match="mixed_precision"):
        config_from_dict({"train": {"mixed_precision": "sometimes"}})


def test_as_float32_keeps_the_weights_and_computes_in_float32():
    from ferkit.models.space_to_depth_cnn import space_to_depth_cnn
    from ferkit.training.precision import as_float32

    plain = space_to_depth_cnn(widths=[4, 8], depths=[1, 1])
    assert as_float32(plain) is plain  # nothing to convert
    with precision_policy(True):
        mixed = space_to_depth_cnn(widths=[4, 8], depths=[1, 1])
    assert mixed.get_layer("stage1_1_conv").compute_dtype == "bfloat16"
    converted = as_float32(mixed)
    assert {layer.compute_dtype for layer in converted.layers} == {"float32"}
    for ours, theirs in zip(converted.get_weights(), mixed.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    plain.set_weights(mixed.get_weights())
    x = np.random.default_rng(0).random((2, 48, 48, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(converted(x)["emotion"]),
                               np.asarray(plain(x)["emotion"]), atol=1e-6)
    # the bfloat16 model differs from its float32 copy only by rounding
    np.testing.assert_allclose(np.asarray(mixed(x)["emotion"]),
                               np.asarray(converted(x)["emotion"]), atol=0.05)
