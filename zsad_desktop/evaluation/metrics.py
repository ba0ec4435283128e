"""Image and pixel metrics of anomaly detection, as the literature reports them.

Image level: AUROC and AP from scikit-learn, F1-max (best F1 over the
thresholds of the precision-recall curve). Pixel level: the same three over
all pixels of all images, plus AUPRO, the area under the per-region-overlap
curve up to a false-positive rate of 0.3, divided by 0.3 (MVTec AD; every
connected ground-truth region weighs the same, whatever its size). The pixel
metrics share one memory-bounded ranking (``pixel_ranking.PixelRanking``).

Undefined cases (only one class among the labels or the pixels) give NaN,
never an exception. Inputs that cannot be compared (different lengths or
shapes, NaN in a heatmap) raise ``MetricInputError``.

A mask may be ``None`` where an image has no pixel ground truth (an anomalous
image labelled only at image level): it then counts for the image metrics and
is left out of the pixel metrics.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from zsad_desktop.evaluation.pixel_ranking import MetricInputError, PixelRanking

Masks = Sequence["np.ndarray | None"]
Maps = Sequence[np.ndarray]


def _image_inputs(labels: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray] | None:
    """(labels, scores) as arrays, or None when AUROC/AP/F1 are undefined (one class only)."""
    labels, scores = np.asarray(labels).astype(bool).ravel(), np.asarray(scores, np.float64).ravel()
    if labels.size != scores.size:
        raise MetricInputError(f"{labels.size} labels but {scores.size} scores")
    if not np.isfinite(scores).all():
        raise MetricInputError("image scores hold NaN or infinite values")
    both_classes = 0 < np.count_nonzero(labels) < labels.size
    return (labels, scores) if both_classes else None


def image_auroc(labels: Sequence[int], scores: Sequence[float]) -> float:
    inputs = _image_inputs(labels, scores)
    return math.nan if inputs is None else float(roc_auc_score(*inputs))


def image_ap(labels: Sequence[int], scores: Sequence[float]) -> float:
    inputs = _image_inputs(labels, scores)
    return math.nan if inputs is None else float(average_precision_score(*inputs))


def f1_max(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Best F1 over all thresholds of the precision-recall curve."""
    inputs = _image_inputs(labels, scores)
    if inputs is None:
        return math.nan
    precision, recall, _ = precision_recall_curve(*inputs)
    f1 = 2 * precision * recall / np.maximum(precision + recall, np.finfo(float).tiny)
    return float(f1.max())


def pixel_auroc(masks: Masks, maps: Maps) -> float:
    return PixelRanking.from_maps(masks, maps).auroc()


def pixel_ap(masks: Masks, maps: Maps) -> float:
    return PixelRanking.from_maps(masks, maps).average_precision()


def pixel_f1_max(masks: Masks, maps: Maps) -> float:
    return PixelRanking.from_maps(masks, maps).f1_max()


def aupro(masks: Masks, maps: Maps, fpr_limit: float = 0.3, num_thresholds: int | None = None) -> float:
    """Area under the PRO curve up to ``fpr_limit``, divided by it (0..1).

    PRO at a threshold is the mean, over the connected regions (8-connected)
    of every ground-truth mask, of the fraction of the region at or above the
    threshold; FPR is the fraction of normal pixels at or above it.
    ``num_thresholds=None`` is exact (every distinct score); a number samples
    that many evenly spaced thresholds instead. A constant map gives 0.15
    (the straight line from (0, 0) to (1, 1)), a perfect one 1.0.
    """
    return PixelRanking.from_maps(masks, maps).aupro(fpr_limit, num_thresholds)


def _pair(prediction: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prediction, truth = np.asarray(prediction).astype(bool), np.asarray(truth).astype(bool)
    if prediction.shape != truth.shape:
        raise MetricInputError(f"predicted mask shape {prediction.shape} differs from ground truth {truth.shape}")
    return prediction, truth


def dice(prediction: np.ndarray, truth: np.ndarray) -> float:
    """2|A and B| / (|A| + |B|); two empty masks agree perfectly (1.0)."""
    prediction, truth = _pair(prediction, truth)
    total = np.count_nonzero(prediction) + np.count_nonzero(truth)
    return 1.0 if total == 0 else float(2 * np.count_nonzero(prediction & truth) / total)


def iou(prediction: np.ndarray, truth: np.ndarray) -> float:
    """|A and B| / |A or B|; two empty masks agree perfectly (1.0)."""
    prediction, truth = _pair(prediction, truth)
    union = np.count_nonzero(prediction | truth)
    return 1.0 if union == 0 else float(np.count_nonzero(prediction & truth) / union)


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


def evaluate(labels: Sequence[int], scores: Sequence[float], masks: Masks, maps: Maps) -> EvaluationResult:
    """All seven metrics; the pixels are ranked once for the four pixel metrics.

    ``masks[i]`` is the bool ground truth of image i (zeros for a normal
    image, ``None`` when unknown), ``maps[i]`` its float heatmap, same shape.
    """
    if not len(labels) == len(scores) == len(masks) == len(maps):
        raise MetricInputError(f"lengths differ: {len(labels)} labels, {len(scores)} scores, {len(masks)} masks, {len(maps)} maps")
    ranking = PixelRanking.from_maps(masks, maps)
    return EvaluationResult(
        image_auroc=image_auroc(labels, scores),
        image_ap=image_ap(labels, scores),
        image_f1_max=f1_max(labels, scores),
        pixel_auroc=ranking.auroc(),
        pixel_ap=ranking.average_precision(),
        pixel_f1_max=ranking.f1_max(),
        pixel_aupro=ranking.aupro(),
    )
