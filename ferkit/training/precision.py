"""Which compute precision a training run uses: ``train.mixed_precision`` true, false or "auto".

``mixed_bfloat16`` (bfloat16 compute, float32 weights and softmax) roughly halves the memory
traffic of a step, and on hardware with bfloat16 matrix units it is much faster: on an Intel
Xeon with AMX the recipe network trains 1.4x faster (``docs/results/training_speed.md``). Where the CPU
has no bfloat16 instructions, TensorFlow emulates them and the step gets slower instead, so
``"auto"`` turns it on only where it pays: a GPU, or a CPU that reports ``amx_bf16`` or
``avx512_bf16``.

A model trained under ``mixed_bfloat16`` keeps that policy in its ``.keras`` file;
:func:`as_float32` gives the same weights computing in float32, which is what exports
(SavedModel, TFLite) and CPUs without bfloat16 units want.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import keras

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (empty where ``cpuinfo`` cannot be read, e.g. not Linux)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def bf16_is_fast(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """True on a visible GPU, or a CPU with bfloat16 instructions (AMX or AVX-512 BF16)."""
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return True
    return bool(cpu_flags(cpuinfo) & set(BF16_CPU_FLAGS))


def use_mixed_precision(setting: bool | str, cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Resolve ``train.mixed_precision``: a bool as given, ``"auto"`` by :func:`bf16_is_fast`."""
    if setting == "auto":
        return bf16_is_fast(cpuinfo)
    if isinstance(setting, bool):
        return setting
    raise ValueError(f"train.mixed_precision must be true, false or 'auto', got {setting!r}")


@contextlib.contextmanager
def precision_policy(mixed: bool | str):
    """Use ``mixed_bfloat16`` inside the block when ``mixed`` resolves to true (see
    :func:`use_mixed_precision`), restoring the previous policy afterwards."""
    previous = keras.mixed_precision.global_policy()
    if use_mixed_precision(mixed):
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def as_float32(model: keras.Model) -> keras.Model:
    """``model`` itself when every layer computes in float32, else a copy that does, with the
    same weights (mixed-precision weights are float32 already, so nothing is rounded)."""
    config = model.get_config()
    float32_config = _float32_policies(config)
    if float32_config == config:
        return model
    copy = model.__class__.from_config(float32_config)
    copy.set_weights(model.get_weights())
    return copy


def _is_mixed_policy(value) -> bool:
    if isinstance(value, str):
        return value.startswith("mixed_")
    return (isinstance(value, dict) and value.get("class_name") == "DTypePolicy"
            and str(value.get("config", {}).get("name", "")).startswith("mixed_"))


def _float32_policies(config):
    """A copy of a model config with every mixed ``dtype`` policy replaced by float32."""
    if isinstance(config, dict):
        return {key: "float32" if key == "dtype" and _is_mixed_policy(value)
                else _float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_policies(item) for item in config]
    if isinstance(config, tuple):
        return tuple(_float32_policies(item) for item in config)
    return config


__all__ = ["BF16_CPU_FLAGS", "as_float32", "bf16_is_fast", "cpu_flags", "precision_policy",
           "use_mixed_precision"]
