"""``ferkit models``: list registered models and presets."""
from __future__ import annotations


def run(args) -> int:
    """Print each registered model and preset with its one-line description."""
    from ferkit import models

    for name, description in models.describe().items():
        print(f"{name:24s} {description}")
    return 0


def register(commands) -> None:
    listing = commands.add_parser("models", help="list registered models and presets")
    listing.set_defaults(run=run)
