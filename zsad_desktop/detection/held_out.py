"""Held-out metrics during training: how a method's detector does on samples it never trained on.

Reported once per epoch, so the reviewer (and `zsad train`) sees whether
training helps before the run ends. Maps and masks are compared at a small
fixed side: the numbers guide training, the final evaluation is elsewhere.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from zsad_desktop.detection.interface import Detector
from zsad_desktop.detection.training_data import TrainingSample
from zsad_desktop.imaging.masks import read_mask

SIDE = 128


def mask_at(sample: TrainingSample, side: int) -> np.ndarray | None:
    """The sample's mask at side x side: zeros for a normal image, None where anomalous without a mask."""
    if sample.mask_path is None:
        return np.zeros((side, side), bool) if int(sample.label) == 0 else None
    return (
        cv2.resize(
            read_mask(sample.mask_path).astype(np.uint8), (side, side), interpolation=cv2.INTER_NEAREST
        )
        > 0
    )


def detector_metrics(
    detector: Detector,
    samples: Sequence[TrainingSample],
    batch_size: int = 8,
    check_cancel: Callable[[], None] | None = None,
    side: int = SIDE,
) -> dict[str, float]:
    """val_image_auroc and val_pixel_auroc of `detector` on `samples`; a metric undefined there
    (one class only, no masks) is left out rather than reported as NaN."""
    from zsad_desktop.evaluation import image_auroc, pixel_auroc

    labels, scores, masks, maps = [], [], [], []
    for start in range(0, len(samples), batch_size):
        if check_cancel is not None:
            check_cancel()
        chunk = samples[start : start + batch_size]
        for sample, detection in zip(chunk, detector.predict([s.read_rgb8() for s in chunk])):
            labels.append(int(sample.label))
            scores.append(detection.score)
            mask = mask_at(sample, side)
            if mask is not None:
                masks.append(mask)
                maps.append(
                    cv2.resize(
                        detection.heatmap.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA
                    )
                )
    metrics: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if labels:
            metrics["val_image_auroc"] = float(image_auroc(labels, scores))
        if masks:
            metrics["val_pixel_auroc"] = float(pixel_auroc(masks, maps))
    return {k: v for k, v in metrics.items() if not math.isnan(v)}
