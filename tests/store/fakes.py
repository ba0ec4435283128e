"""A deterministic stand-in detector for store tests: heatmap = brightness."""

import numpy as np

from zsad_desktop.detection.interface import Detection, Detector


class BrightnessDetector(Detector):
    method = "brightness"

    def __init__(self):
        self.calls = 0

    @property
    def model_id(self) -> str:
        return "brightness:v1"

    def predict(self, images):
        self.calls += len(images)
        out = []
        for image in images:
            heat = image.mean(axis=2).astype(np.float32) / 255
            out.append(Detection(float(heat.mean()), heat, self.model_id))
        return out
