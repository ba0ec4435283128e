"""How to build a detector, sent to each actor instead of the detector itself: a loaded backbone is
hundreds of megabytes, and each actor loads its own copy once, on its own device."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zsad_desktop.detection.interface import Detector, create_detector


@dataclass(frozen=True)
class DetectorRecipe:
    method: str = "baseline"
    settings: dict[str, Any] = field(default_factory=dict)  # create_detector's keyword settings
    model_dir: str | None = None  # a trained model folder (model.json) instead of method + settings
    device: str = "auto"
    factory: str = (
        ""  # "package.module:function" called with device= and the settings: a detector of one's own
    )

    def build(self) -> Detector:
        if self.factory:
            module, _, name = self.factory.partition(":")
            return getattr(importlib.import_module(module), name)(device=self.device, **self.settings)
        if self.model_dir:
            from zsad_desktop.detection.saved_model import load_saved_model  # torch, where the model loads

            extra = {k: v for k, v in self.settings.items() if k in ("object_name", "batch_size")}
            return load_saved_model(Path(self.model_dir), device=self.device, **extra)
        return create_detector(self.method, device=self.device, **self.settings)
