"""Shared fixtures: tiny random backbones and the real sample data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # CI has no network: never wait on the hub

from zsad_desktop.app.cluster.ray_engine import keep_gcs_clients_waiting  # noqa: E402

# The fixtures' own ray.init, as the application's: a GCS client left over from a module's in-process
# Ray must not end the test process a minute after that Ray was shut down.
keep_gcs_clients_waiting()

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
DATA = SHARED / "data"
CHECKPOINTS = SHARED / "checkpoints"

TINY = "ZSAD-Tiny-ViT-14"
TINY_TEXT768 = "ZSAD-Tiny-ViT-14-Text768"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"sample data not found at {DATA}")
    return DATA


@pytest.fixture(scope="session")
def tiny_backbone():
    """A 4-block ViT with random weights (seed 0) at 112 px: an 8x8 grid."""
    from zsad_desktop.detection.backbone import BackboneSpec, shared_backbone

    return shared_backbone(BackboneSpec(TINY, "random", image_size=112), "cpu")
