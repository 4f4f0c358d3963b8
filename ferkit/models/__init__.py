"""Model builders, registered by name: ``build(name, **kwargs)`` and ``available()``."""
# Importing a family's module registers its builders and presets.
from ferkit.models import compact as _compact  # noqa: F401
from ferkit.models import multitask_resnet as _multitask_resnet  # noqa: F401
from ferkit.models import recipe as _recipe  # noqa: F401
from ferkit.models import seed000 as _seed000  # noqa: F401
from ferkit.models import seed001 as _seed001  # noqa: F401
from ferkit.models import seed002 as _seed002  # noqa: F401
from ferkit.models import seed003 as _seed003  # noqa: F401
from ferkit.models.registry import available, build, describe, register, register_preset, resolve

__all__ = ["available", "build", "describe", "register", "register_preset", "resolve"]
