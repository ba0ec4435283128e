"""What the reviewer chose for the detector, and the detector it builds (also the quick first look's)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from zsad_desktop.detection.interface import Detector, create_detector


@dataclass
class DetectorSettings:
    method: str = "baseline"
    model_name: str = "ViT-L-14-336"
    pretrained: str = "openai"
    image_size: int = 518
    device: str = "auto"
    object_name: str = "object"
    checkpoint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: input size of the quick first heatmap of the image on screen (336: a 24 x 24 grid, about a third of
    #: the time of 518 on a CPU); shown until the full one arrives, never scored or exported. 0: none
    first_look: int = 336
    #: fuse predictions with a memory of the images reviewed NORMAL (app/review/normal_memory_upkeep.py)
    normal_memory: bool = True
    #: detection/execution.py: "auto" is bfloat16 where the CPU or GPU has it, "float32" maps within 1e-4
    #: of the exact engine. Not part of the model's identity: changing it predicts nothing again
    precision: str = "auto"
    #: musc and aaclip: "exact" or "quick" GELU in the backbone; "" the method's default (README, Detectors)
    gelu: str = ""
    #: musc only: nearest patches from a random projection, re-ranked exactly (faster, close to exact)
    approximate: bool = False

    def build(self) -> Detector:
        options = dict(self.extra)
        if self.gelu and self.method in ("musc", "aaclip"):
            options["gelu"] = self.gelu
        if self.approximate and self.method == "musc":
            options["approximate"] = True
        if self.checkpoint:
            options["checkpoint"] = self.checkpoint
        return create_detector(
            self.method,
            model_name=self.model_name,
            pretrained=self.pretrained,
            image_size=self.image_size,
            device=self.device,
            object_name=self.object_name,
            precision=self.precision,
            **options,
        )

    def first_look_settings(self) -> DetectorSettings | None:
        """The same detector at the first-look size, or None when that would not be smaller."""
        if not 0 < self.first_look < self.image_size:
            return None
        if self.method == "musc":  # musc needs its references first: the prompt baseline looks meanwhile
            return replace(
                self, method="baseline", extra={}, checkpoint="", image_size=self.first_look, first_look=0
            )
        return replace(self, image_size=self.first_look, first_look=0)
