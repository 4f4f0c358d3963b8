"""Model builders named by architecture, and presets of them: ``build(name, **kwargs)``.

Builders (``plain_cnn``, ``staged_cnn``, ``resblock_grid``, ``resnet50``, ``multitask_resnet``,
``space_to_depth_cnn``, ``separable_resnet``) are registered under their own names; the seed
networks (``seed000_main``, ``B16_N8_FC2_K5``, ``seed003_resnet50``, ...), ``fer_recipe`` and
``fer_compact`` are presets: a builder with fixed arguments. Custom layers live in
``ferkit.layers``, so loading a saved model needs only that package. Reading model files:
``ferkit.models.loading`` (``.keras``, safe mode), ``ferkit.models.pretrained`` (the shipped
presets) and ``ferkit.models.tflite`` (TFLite exports, run where a Keras model would be).
"""
# Importing an architecture's module registers its builder and presets.
from ferkit.models import multitask_resnet as _multitask_resnet  # noqa: F401
from ferkit.models import plain_cnn as _plain_cnn  # noqa: F401
from ferkit.models import resblock_grid as _resblock_grid  # noqa: F401
from ferkit.models import resnet50 as _resnet50  # noqa: F401
from ferkit.models import separable_resnet as _separable_resnet  # noqa: F401
from ferkit.models import space_to_depth_cnn as _space_to_depth_cnn  # noqa: F401
from ferkit.models import staged_cnn as _staged_cnn  # noqa: F401
from ferkit.models.registry import (Preset, available, build, builder_of, builders, describe,
                                    presets, register, register_preset, resolve)

__all__ = ["Preset", "available", "build", "builder_of", "builders", "describe", "presets",
           "register", "register_preset", "resolve"]
