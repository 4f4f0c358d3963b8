"""``python -m ferkit.cli`` runs the ``ferkit`` command (as ``python -m ferkit`` does)."""
import sys

from ferkit.cli import main

sys.exit(main())
