"""A deterministic stand-in detector for app tests: heatmap = brightness, score = mean brightness."""

import numpy as np

from zsad_desktop.detection.interface import Detection, Detector, register_method

FAKE_METHOD = "test-brightness"


@register_method(FAKE_METHOD)
class BrightnessDetector(Detector):
    def __init__(self, version: str = "v1", **_settings):
        self.version = version
        self.calls = 0

    @property
    def model_id(self) -> str:
        return f"{FAKE_METHOD}:{self.version}"

    def predict(self, images):
        self.calls += len(images)
        out = []
        for image in images:
            heat = image.mean(axis=2).astype(np.float32) / 255
            out.append(Detection(float(heat.mean()), heat, self.model_id))
        return out
