"""Where the application finds its resources and model files.

`resources/` and `models/` sit at the repository root (the product owner's
layout); environment variables move them for packaged installs and tests.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    return Path(os.environ.get("ZSAD_RESOURCES_DIR", REPO_ROOT / "resources"))


def models_dir() -> Path:
    """Backbone weights and adapter checkpoints (see models/README.md)."""
    return Path(os.environ.get("ZSAD_MODELS_DIR", REPO_ROOT / "models"))
