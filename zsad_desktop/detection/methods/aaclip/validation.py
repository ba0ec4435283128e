"""Held-out checks during training and the score calibration stored with the model.

Metrics follow the reference's metrics_eval: maps and detection scores
min-max scaled over the held-out set, image score 0.5 x map maximum + 0.5 x
detection (industrial) or the map maximum (medical), pixel AUROC over all
pixels whose mask is known. Images are preprocessed as at inference; maps
are compared at no more than 256 px a side to keep memory bounded.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from zsad_desktop.detection.held_out import mask_at
from zsad_desktop.detection.methods.aaclip.detector import adapted_outputs
from zsad_desktop.detection.methods.aaclip.scoring import ScoreCalibration, upsample
from zsad_desktop.detection.preprocess import to_model_input
from zsad_desktop.detection.training_data import TrainingSample

EVALUATION_SIDE = 256


@dataclass
class HeldOutOutputs:
    map_low: list[float] = field(default_factory=list)
    map_high: list[float] = field(default_factory=list)
    detection: list[float] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    maps: list[np.ndarray] = field(default_factory=list)
    masks: list[np.ndarray | None] = field(default_factory=list)

    def calibration(self) -> ScoreCalibration:
        return ScoreCalibration.from_outputs(self.map_low, self.map_high, self.detection)


@torch.no_grad()
def collect_outputs(
    adapters,
    extractor,
    samples: Sequence[TrainingSample],
    anchors_for: Callable[[list], torch.Tensor],
    domain: str,
    batch_size: int = 8,
    keep_maps: bool = True,
    check_cancel: Callable[[], None] = lambda: None,
) -> HeldOutOutputs:
    """Run the adapted model over `samples`, preprocessed exactly as at inference, and keep
    what metrics and calibration need."""
    backbone = extractor.backbone
    size = backbone.spec.image_size
    side = min(EVALUATION_SIDE, size)
    out = HeldOutOutputs()
    for start in range(0, len(samples), batch_size):
        check_cancel()
        chunk = samples[start : start + batch_size]
        pixels = to_model_input(
            [s.read_rgb8() for s in chunk], size, backbone.mean, backbone.std, backbone.device
        )
        raw = adapted_outputs(adapters, extractor, pixels, anchors_for([s.category for s in chunk]), domain)
        out.map_low += raw["map_low"].cpu().tolist()
        out.map_high += raw["map_high"].cpu().tolist()
        out.detection += raw["detection"].cpu().tolist()
        out.labels += [int(s.label) for s in chunk]
        if keep_maps:
            out.maps += list(upsample(raw["maps"].float(), (side, side)).cpu().numpy())
            out.masks += [mask_at(s, side) for s in chunk]
    return out


def held_out_metrics(out: HeldOutOutputs, domain: str) -> dict[str, float]:
    """Image and pixel AUROC on the held-out outputs; a metric undefined there (one class only) is left out."""
    from zsad_desktop.evaluation import image_auroc, pixel_auroc

    if not out.labels:
        return {}
    scores = out.calibration().image_score(torch.tensor(out.map_high), torch.tensor(out.detection), domain)
    metrics = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics["val_image_auroc"] = image_auroc(out.labels, scores.tolist())
        known = [(m, a) for m, a in zip(out.masks, out.maps) if m is not None]
        if known:
            metrics["val_pixel_auroc"] = pixel_auroc([m for m, _ in known], [a for _, a in known])
    return {k: float(v) for k, v in metrics.items() if not math.isnan(v)}
