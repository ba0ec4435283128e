"""A trained model folder describes itself: `model.json` beside the weights.

It names the method, the backbone and the method's settings, so `--model DIR`
is all the command line or the window needs to rebuild the detector.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from zsad_desktop.detection.backbone import BackboneSpec
from zsad_desktop.detection.interface import Detector, DetectorError, NormalisationStats, create_detector

MANIFEST = "model.json"


def write_manifest(
    folder: Path,
    method: str,
    backbone: BackboneSpec,
    settings: dict[str, Any],
    normalisation: NormalisationStats | None = None,
) -> Path:
    data = {
        "method": method,
        "backbone": asdict(backbone),
        "settings": settings,
        "normalisation": (normalisation or NormalisationStats()).to_dict(),
    }
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, default=str)
    os.replace(tmp, folder / MANIFEST)
    return folder / MANIFEST


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DetectorError(f"{folder} is not a trained model folder: {MANIFEST} is missing") from None
    except ValueError as exc:
        raise DetectorError(f"{path} is damaged: {exc}") from None


def load_saved_model(folder: Path, device: str = "auto", **overrides: Any) -> Detector:
    """Rebuild the detector saved in `folder` (method, backbone, settings, normalisation)."""
    manifest = read_manifest(folder)
    backbone = manifest["backbone"]
    settings = {**manifest.get("settings", {}), **overrides}
    detector = create_detector(
        manifest["method"],
        model_name=backbone["model_name"],
        pretrained=backbone["pretrained"],
        image_size=backbone["image_size"],
        quick_gelu=backbone.get("quick_gelu"),
        device=device,
        checkpoint=str(folder),
        **settings,
    )
    detector.normalisation = NormalisationStats(**manifest.get("normalisation", {}))
    return detector
