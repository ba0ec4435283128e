"""Stand-in detectors for the README screenshots only (no CLIP weights ship with the repository).

Each is a few lines of image arithmetic tuned to one generated demo, so its
heatmap points at the demo's defects the way a real detector's would; the
window's Model field names it (model_id), so no screenshot passes it off as CLIP.
Importing this module registers them with the detection interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from zsad_desktop.detection.interface import Detection, Detector, register_method


class _StandIn(Detector):
    def __init__(self, image_size: int = 224, **_settings: Any):
        # As a CLIP detector has: an image larger than two inputs is predicted by tiles, and the key its
        # predictions are stored under matches the one the workspace derives from the registered version.
        self.input_size = int(image_size)

    def predict(self, images: Sequence[np.ndarray]) -> list[Detection]:
        out = []
        for rgb in images:
            heat = self.heat(rgb.astype(np.float32).mean(axis=2), rgb).astype(np.float32)
            out.append(Detection(float(heat.max()), heat, self.model_id))
        return out

    def heat(self, grey: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@register_method("contrast-demo")
class ContrastDemoDetector(_StandIn):
    """The metal plates: what differs from the brushed grain (along x) or from the plate's tint."""

    @property
    def model_id(self) -> str:
        return "contrast-demo:v2"

    def heat(self, grey: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        along_grain = cv2.GaussianBlur(grey, (0, 0), sigmaX=12, sigmaY=0.1)
        across = cv2.GaussianBlur(np.abs(grey - along_grain), (0, 0), 2.5)
        chroma = rgb[..., 0].astype(np.float32) - rgb[..., 2]
        tint = cv2.GaussianBlur(np.abs(chroma - np.median(chroma)), (0, 0), 2.5)
        return np.clip((np.maximum(across, tint) / 12 - 1.0) / 4.0, 0, 1)


@register_method("bright-blob-demo")
class BrightBlobDemoDetector(_StandIn):
    """The CT head phantom in a brain window: tissue brighter than the brain around it (a bleed).
    The background is the brain alone, blurred (normalised convolution): skull (saturated), air
    and ventricles (dark) neither count as background nor light up."""

    @property
    def model_id(self) -> str:
        return "bright-blob-demo:v1"

    def heat(self, grey: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        tissue = ((grey > 40) & (grey < 200)).astype(np.float32)
        weight = cv2.GaussianBlur(tissue, (0, 0), 15)
        brain = cv2.GaussianBlur(grey * tissue, (0, 0), 15) / np.maximum(weight, 1e-3)
        above = np.clip((grey - brain - 40) / 60, 0, 1) * (grey < 250) * (weight > 0.05)
        return cv2.GaussianBlur(above.astype(np.float32), (0, 0), 1.5)


@register_method("dark-spot-demo")
class DarkSpotDemoDetector(_StandIn):
    """The wafer: pixels far darker than the brightest nearby (the die), yet not the black off the
    wafer. Streets are darker than dies too, but by less than the threshold."""

    @property
    def model_id(self) -> str:
        return "dark-spot-demo:v1"

    def heat(self, grey: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        die = cv2.dilate(grey, cv2.getStructuringElement(cv2.MORPH_RECT, (121, 121)))  # wider than a particle
        below = np.clip((die - grey - 110) / 60, 0, 1) * (grey > 20)
        return cv2.GaussianBlur(below.astype(np.float32), (0, 0), 2)
