"""Model builders, registered by name: ``build(name, **kwargs)`` and ``available()``."""
from ferkit.models import multitask_resnet as _multitask_resnet  # noqa: F401  (registers)
from ferkit.models.registry import available, build, describe, register, register_preset, resolve

__all__ = ["available", "build", "describe", "register", "register_preset", "resolve"]
