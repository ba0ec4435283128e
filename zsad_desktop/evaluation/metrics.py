"""Image and pixel metrics of anomaly detection, as the literature reports them.

Image level: AUROC and AP from scikit-learn, F1-max (best F1 over the
thresholds of the precision-recall curve). Pixel level: the same three over
all pixels of all images, plus AUPRO, the area under the per-region-overlap
curve up to a false-positive rate of 0.3, divided by 0.3 (MVTec AD; every
connected ground-truth region weighs the same, whatever its size). The pixel
metrics share one memory-bounded ranking (``pixel_ranking.PixelRanking``).

Undefined cases (only one class among the labels or the pixels) give NaN,
never an exception: the single-metric functions say why in an
``UndefinedMetricWarning``, ``evaluate`` in ``EvaluationResult.undefined``.
Inputs that cannot be compared (different lengths or shapes, NaN in a
heatmap, labels other than 0/1) raise ``MetricInputError``.

A mask may be ``None`` where an image has no pixel ground truth (an anomalous
image labelled only at image level): it then counts for the image metrics and
is left out of the pixel metrics.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from zsad_desktop.evaluation.pixel_ranking import MetricInputError, PixelRanking

Masks = Sequence["np.ndarray | None"]
Maps = Sequence[np.ndarray]


class UndefinedMetricWarning(UserWarning):
    """A metric came out NaN because its inputs hold one class only; the message says which and why."""


def _undefined(metric: str, reason: str) -> float:
    # stacklevel 4: the caller of image_auroc(...) / pixel_ap(...), past _image_metric / _pixel_metric
    warnings.warn(f"{metric} is undefined (NaN): {reason}", UndefinedMetricWarning, stacklevel=4)
    return math.nan


def _image_inputs(labels: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = np.asarray(labels).ravel(), np.asarray(scores, np.float64).ravel()
    if labels.size != scores.size:
        raise MetricInputError(f"{labels.size} labels but {scores.size} scores")
    if not np.isin(labels, (0, 1)).all():
        raise MetricInputError(
            f"image labels must be 0 (normal) or 1 (anomalous), got {np.unique(labels)[:5].tolist()}"
        )
    if not np.isfinite(scores).all():
        raise MetricInputError("image scores hold NaN or infinite values")
    return labels.astype(bool), scores


def _image_undefined_reason(labels: np.ndarray) -> str | None:
    anomalous = int(np.count_nonzero(labels))
    if labels.size == 0:
        return "no image"
    if anomalous == 0:
        return f"no anomalous image among {labels.size}"
    if anomalous == labels.size:
        return f"no normal image among {labels.size}"
    return None


# scikit-learn is imported where an image metric is computed: it takes two seconds, and the window,
# which imports this package for its dice and iou, starts without it.
def _auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def _average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels, scores))


def _f1_max(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, np.finfo(float).tiny)
    return float(f1.max())


IMAGE_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "image_auroc": _auroc,
    "image_ap": _average_precision,
    "image_f1_max": _f1_max,
}
PIXEL_METRICS: dict[str, Callable[[PixelRanking], float]] = {
    "pixel_auroc": PixelRanking.auroc,
    "pixel_ap": PixelRanking.average_precision,
    "pixel_f1_max": PixelRanking.f1_max,
    "pixel_aupro": PixelRanking.aupro,
}


def _image_metric(name: str, labels: Sequence[int], scores: Sequence[float]) -> float:
    labels, scores = _image_inputs(labels, scores)
    reason = _image_undefined_reason(labels)
    return _undefined(name, reason) if reason else IMAGE_METRICS[name](labels, scores)


def image_auroc(labels: Sequence[int], scores: Sequence[float]) -> float:
    return _image_metric("image_auroc", labels, scores)


def image_ap(labels: Sequence[int], scores: Sequence[float]) -> float:
    return _image_metric("image_ap", labels, scores)


def f1_max(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Best F1 over all thresholds of the precision-recall curve."""
    return _image_metric("image_f1_max", labels, scores)


def _pixel_metric(name: str, masks: Masks, maps: Maps, **options) -> float:
    ranking = PixelRanking.from_maps(masks, maps)
    reason = ranking.undefined_reason
    return _undefined(name, reason) if reason else PIXEL_METRICS[name](ranking, **options)


def pixel_auroc(masks: Masks, maps: Maps) -> float:
    return _pixel_metric("pixel_auroc", masks, maps)


def pixel_ap(masks: Masks, maps: Maps) -> float:
    return _pixel_metric("pixel_ap", masks, maps)


def pixel_f1_max(masks: Masks, maps: Maps) -> float:
    return _pixel_metric("pixel_f1_max", masks, maps)


def aupro(masks: Masks, maps: Maps, fpr_limit: float = 0.3, num_thresholds: int | None = None) -> float:
    """Area under the PRO curve up to ``fpr_limit``, divided by it (0..1).

    PRO at a threshold is the mean, over the connected regions (8-connected)
    of every ground-truth mask, of the fraction of the region at or above the
    threshold; FPR is the fraction of normal pixels at or above it.
    ``num_thresholds=None`` is exact (every distinct score); a number samples
    that many evenly spaced thresholds instead. A constant map gives 0.15
    (the straight line from (0, 0) to (1, 1)), a perfect one 1.0.
    """
    return _pixel_metric("pixel_aupro", masks, maps, fpr_limit=fpr_limit, num_thresholds=num_thresholds)


def _pair(prediction: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prediction, truth = np.asarray(prediction).astype(bool), np.asarray(truth).astype(bool)
    if prediction.shape != truth.shape:
        raise MetricInputError(
            f"predicted mask shape {prediction.shape} differs from ground truth {truth.shape}"
        )
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
    # metric name -> why it is NaN (e.g. "no anomalous image among 12"); empty when all are defined
    undefined: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, float]:
        """The seven metrics only (all floats, NaN where undefined), in a fixed order."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "undefined"}


def evaluate(labels: Sequence[int], scores: Sequence[float], masks: Masks, maps: Maps) -> EvaluationResult:
    """All seven metrics; the pixels are ranked once for the four pixel metrics.

    ``masks[i]`` is the bool ground truth of image i (zeros for a normal
    image, ``None`` when unknown), ``maps[i]`` its float heatmap, same shape.
    NaN metrics are explained in ``result.undefined``; no warning is raised.
    """
    if not len(labels) == len(scores) == len(masks) == len(maps):
        raise MetricInputError(
            f"lengths differ: {len(labels)} labels, {len(scores)} scores, {len(masks)} masks, {len(maps)} maps"
        )
    labels, scores = _image_inputs(labels, scores)
    ranking = PixelRanking.from_maps(masks, maps)
    image_reason, pixel_reason = _image_undefined_reason(labels), ranking.undefined_reason
    values = {
        name: math.nan if image_reason else metric(labels, scores) for name, metric in IMAGE_METRICS.items()
    }
    values |= {name: math.nan if pixel_reason else metric(ranking) for name, metric in PIXEL_METRICS.items()}
    undefined = {
        name: reason
        for names, reason in ((IMAGE_METRICS, image_reason), (PIXEL_METRICS, pixel_reason))
        if reason
        for name in names
    }
    return EvaluationResult(**values, undefined=undefined)
