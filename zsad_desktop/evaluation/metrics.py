"""Image and pixel metrics of anomaly detection, as the literature reports them.

AUROC and AP come from scikit-learn. F1-max is the best F1 over all
thresholds of the precision-recall curve. AUPRO is the area under the
per-region-overlap curve up to a false-positive rate of 0.3, divided by 0.3
(MVTec AD). Degenerate inputs (one class only) give NaN, never an exception.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import cv2
import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score


def _both_classes(labels: np.ndarray) -> bool:
    return labels.size > 0 and 0 < labels.sum() < labels.size


def image_auroc(labels: Sequence[int], scores: Sequence[float]) -> float:
    labels = np.asarray(labels).astype(bool)
    return float(roc_auc_score(labels, np.asarray(scores))) if _both_classes(labels) else math.nan


def image_ap(labels: Sequence[int], scores: Sequence[float]) -> float:
    labels = np.asarray(labels).astype(bool)
    return float(average_precision_score(labels, np.asarray(scores))) if _both_classes(labels) else math.nan


def f1_max(labels: Sequence[int], scores: Sequence[float]) -> float:
    labels = np.asarray(labels).astype(bool)
    if not labels.any():
        return math.nan
    precision, recall, _ = precision_recall_curve(labels, np.asarray(scores))
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(f1.max())


def _flatten(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    for mask, amap in zip(masks, maps):
        if mask.shape != amap.shape:
            raise ValueError(f"mask {mask.shape} and map {amap.shape} differ in shape")
    labels = np.concatenate([np.asarray(m, bool).ravel() for m in masks])
    values = np.concatenate([np.asarray(a, np.float32).ravel() for a in maps])
    return labels, values


def pixel_auroc(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray]) -> float:
    return image_auroc(*_flatten(masks, maps))


def pixel_ap(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray]) -> float:
    return image_ap(*_flatten(masks, maps))


def pixel_f1_max(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray]) -> float:
    return f1_max(*_flatten(masks, maps))


def aupro(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray], fpr_limit: float = 0.3, num_thresholds: int = 200) -> float:
    """Area under the PRO curve up to `fpr_limit`, normalised to 0..1.

    For each threshold: PRO is the mean over ground-truth regions of the
    fraction of the region above the threshold; FPR is the fraction of
    normal pixels above it. Histograms over fixed thresholds keep memory at
    O(regions x thresholds), whatever the number of pixels.
    """
    labels, values = _flatten(masks, maps)
    if not _both_classes(labels):
        return math.nan
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return math.nan if hi < lo else _constant_map_aupro(fpr_limit)
    edges = np.linspace(lo, hi, num_thresholds + 1)
    # above[i] counts values >= edges[i]: reversed cumulative histogram
    def above(v: np.ndarray) -> np.ndarray:
        counts = np.histogram(v, bins=edges)[0]
        return np.concatenate([np.cumsum(counts[::-1])[::-1], [0]])

    fpr = above(values[~labels]) / max(1, (~labels).sum())
    overlaps = []
    for mask, amap in zip(masks, maps):
        count, regions = cv2.connectedComponents(np.asarray(mask, np.uint8), connectivity=8)
        for region in range(1, count):
            inside = np.asarray(amap, np.float32)[regions == region]
            overlaps.append(above(inside) / inside.size)
    pro = np.mean(overlaps, axis=0)
    # Curve from (0, 0) upwards; at equal FPR the higher PRO comes last, so vertical steps add no area.
    fpr = np.concatenate([[0.0], fpr])
    pro = np.concatenate([[0.0], pro])
    order = np.lexsort((pro, fpr))
    fpr, pro = fpr[order], pro[order]
    keep = fpr <= fpr_limit
    x, y = fpr[keep], pro[keep]
    beyond = np.flatnonzero(~keep)
    if beyond.size:  # cut the segment that crosses the limit by linear interpolation
        x1, y1 = fpr[beyond[0]], pro[beyond[0]]
        cut = y[-1] + (y1 - y[-1]) * (fpr_limit - x[-1]) / (x1 - x[-1])
        x, y = np.append(x, fpr_limit), np.append(y, cut)
    return float(np.trapezoid(y, x) / fpr_limit)


def _constant_map_aupro(fpr_limit: float) -> float:
    # One threshold: either everything (FPR 1) or nothing (FPR 0) is flagged; the
    # curve joins (0, 0) and (1, 1), so its area up to the limit is limit^2 / 2.
    return float(fpr_limit / 2)


def dice(prediction: np.ndarray, truth: np.ndarray) -> float:
    prediction, truth = np.asarray(prediction, bool), np.asarray(truth, bool)
    total = prediction.sum() + truth.sum()
    return 1.0 if total == 0 else float(2 * np.logical_and(prediction, truth).sum() / total)


def iou(prediction: np.ndarray, truth: np.ndarray) -> float:
    prediction, truth = np.asarray(prediction, bool), np.asarray(truth, bool)
    union = np.logical_or(prediction, truth).sum()
    return 1.0 if union == 0 else float(np.logical_and(prediction, truth).sum() / union)


@dataclass
class EvaluationResult:
    image_auroc: float
    image_ap: float
    image_f1_max: float
    pixel_auroc: float
    pixel_ap: float
    pixel_f1_max: float
    pixel_aupro: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def evaluate(
    labels: Sequence[int], scores: Sequence[float], masks: Sequence[np.ndarray], maps: Sequence[np.ndarray]
) -> EvaluationResult:
    return EvaluationResult(
        image_auroc=image_auroc(labels, scores),
        image_ap=image_ap(labels, scores),
        image_f1_max=f1_max(labels, scores),
        pixel_auroc=pixel_auroc(masks, maps),
        pixel_ap=pixel_ap(masks, maps),
        pixel_f1_max=pixel_f1_max(masks, maps),
        pixel_aupro=aupro(masks, maps),
    )
