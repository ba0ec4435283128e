"""Exact pixel-level ROC, precision-recall and PRO curves from one sort.

Heatmaps at image resolution add up to hundreds of millions of pixels on a
benchmark, so the pixel metrics share one ranking instead of sorting once per
metric (as four scikit-learn calls would). The normal pixels are copied once
as float32 and sorted in place; the defect pixels (a small minority) are
sorted with their region weights. Every curve is then read off at the
distinct defect-pixel scores with ``searchsorted``: between two of them only
normal pixels change, which moves the false-positive rate but neither recall
nor PRO, so nothing is lost (AUROC, AP and F1-max are exact; PRO vertices are
exact as well, see ``pro_curve``).

No thresholds x pixels array is ever built: the ranking holds about 4 bytes
per normal pixel plus 12 per defect pixel, and the curves read off it add
about 100 bytes per defect pixel while they are computed (defects are a few
percent of a benchmark's pixels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np


class MetricInputError(ValueError):
    """Masks and maps that cannot be compared (lengths, shapes, non-finite values)."""


def check_pair(index: int, mask: np.ndarray, amap: np.ndarray) -> None:
    if mask.shape != amap.shape:
        raise MetricInputError(
            f"image {index}: mask shape {mask.shape} differs from heatmap shape {amap.shape}"
        )
    if mask.ndim != 2:
        raise MetricInputError(f"image {index}: expected 2-D (H, W) mask and heatmap, got shape {mask.shape}")


@dataclass(frozen=True)
class PixelRanking:
    normal: np.ndarray  # float32 scores of normal pixels, ascending
    defect: np.ndarray  # float32 scores of defect pixels, ascending
    region_weight: np.ndarray  # float64 per defect pixel (same order): 1 / (region size x number of regions)

    @classmethod
    def from_maps(cls, masks: Sequence[np.ndarray | None], maps: Sequence[np.ndarray]) -> PixelRanking:
        """Rank the pixels of images whose mask is known; a ``None`` mask leaves that image out."""
        if len(masks) != len(maps):
            raise MetricInputError(f"{len(masks)} masks but {len(maps)} heatmaps")
        pairs = []
        for index, (mask, amap) in enumerate(zip(masks, maps)):
            if mask is None:
                continue
            mask, amap = np.asarray(mask).astype(bool, copy=False), np.asarray(amap)
            check_pair(index, mask, amap)
            if not np.isfinite(amap).all():
                raise MetricInputError(f"image {index}: heatmap holds NaN or infinite values")
            pairs.append((mask, amap))
        # Fill one preallocated array so that the normal pixels are copied once, not twice.
        normal = np.empty(sum(int(m.size - np.count_nonzero(m)) for m, _ in pairs), np.float32)
        defects, weights, regions, start = [], [], 0, 0
        for mask, amap in pairs:
            outside = amap[~mask]
            normal[start : start + outside.size] = outside
            start += outside.size
            if mask.any():
                count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
                sizes = np.bincount(labels.ravel(), minlength=count)
                inside = labels[mask]
                defects.append(amap[mask].astype(np.float32))
                weights.append(1.0 / sizes[inside])
                regions += count - 1
        normal.sort()
        defect = np.concatenate(defects) if defects else np.empty(0, np.float32)
        weight = np.concatenate(weights) / max(regions, 1) if weights else np.empty(0, np.float64)
        order = np.argsort(defect, kind="stable")
        return cls(normal, defect[order], weight[order])

    @property
    def comparable(self) -> bool:
        """Both classes present: otherwise every pixel metric is undefined (NaN)."""
        return self.normal.size > 0 and self.defect.size > 0

    @property
    def undefined_reason(self) -> str | None:
        """Why the pixel metrics are NaN, in words; None when they are defined."""
        known = self.normal.size + self.defect.size
        if known == 0:
            return "no pixel has a known ground truth (no image, or every mask is None)"
        if self.defect.size == 0:
            return f"no defect pixel: all {known} pixels with a known mask are normal"
        if self.normal.size == 0:
            return f"no normal pixel: all {known} pixels with a known mask are defects"
        return None

    @cached_property  # shared by AP, F1-max and PRO
    def _at_defect_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For each distinct defect score t, descending: t, #defect >= t, #normal >= t, #normal > t, PRO(t)."""
        values, first = np.unique(self.defect, return_index=True)
        true_pos = self.defect.size - first
        false_pos = self.normal.size - np.searchsorted(self.normal, values, side="left")
        false_pos_strict = self.normal.size - np.searchsorted(self.normal, values, side="right")
        suffix = np.cumsum(self.region_weight[::-1])[::-1]
        pro = suffix[first]
        return values[::-1], true_pos[::-1], false_pos[::-1], false_pos_strict[::-1], pro[::-1]

    def auroc(self) -> float:
        """Mann-Whitney: P(defect pixel > normal pixel) + half the ties."""
        if not self.comparable:
            return math.nan
        values, counts = np.unique(self.defect, return_counts=True)
        below = np.searchsorted(self.normal, values, side="left").astype(np.float64)
        below_or_tied = np.searchsorted(self.normal, values, side="right").astype(np.float64)
        wins = float(np.dot(counts, below + below_or_tied)) / 2
        return wins / (float(self.defect.size) * float(self.normal.size))

    def average_precision(self) -> float:
        """Step-wise AP as scikit-learn defines it: sum of (R_n - R_(n-1)) x P_n."""
        if not self.comparable:
            return math.nan
        _, true_pos, false_pos, _, _ = self._at_defect_scores
        recall = true_pos / self.defect.size
        precision = true_pos / (true_pos + false_pos)
        return float(np.sum(np.diff(recall, prepend=0.0) * precision))

    def f1_max(self) -> float:
        """Best F1 over thresholds; for each recall the highest threshold has the fewest false positives."""
        if not self.comparable:
            return math.nan
        _, true_pos, false_pos, _, _ = self._at_defect_scores
        return float(np.max(2 * true_pos / (true_pos + false_pos + self.defect.size)))

    def pro_curve(self, num_thresholds: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(FPR, PRO) from (0, 0) to (1, 1), FPR non-decreasing.

        Exact (``num_thresholds=None``): at each distinct defect score t the
        curve first runs flat from the last normal-only threshold, where FPR is
        #normal > t, then steps to (#normal >= t, PRO(t)); these are the
        vertices of the MVTec AD reference ``compute_pro``. With a number,
        the curve is sampled at that many evenly spaced score thresholds
        (anomalib's binned mode).
        """
        if num_thresholds is None:
            _, _, false_pos, false_pos_strict, pro = self._at_defect_scores
            before = np.concatenate([[0.0], pro[:-1]])
            fpr = np.stack([false_pos_strict, false_pos], axis=1).ravel() / self.normal.size
            pro = np.stack([before, pro], axis=1).ravel()
        else:
            if num_thresholds < 2:
                raise MetricInputError(f"num_thresholds must be at least 2, got {num_thresholds}")
            low = min(self.normal[0], self.defect[0])
            high = max(self.normal[-1], self.defect[-1])
            thresholds = np.linspace(high, low, num_thresholds)
            fpr = (
                self.normal.size - np.searchsorted(self.normal, thresholds, side="left")
            ) / self.normal.size
            suffix = np.append(np.cumsum(self.region_weight[::-1])[::-1], 0.0)
            pro = suffix[np.searchsorted(self.defect, thresholds, side="left")]
        return np.concatenate([[0.0], fpr, [1.0]]), np.clip(np.concatenate([[0.0], pro, [1.0]]), 0.0, 1.0)

    def aupro(self, fpr_limit: float = 0.3, num_thresholds: int | None = None) -> float:
        if not 0 < fpr_limit <= 1:
            raise MetricInputError(f"fpr_limit must lie in (0, 1], got {fpr_limit}")
        if not self.comparable:
            return math.nan
        fpr, pro = self.pro_curve(num_thresholds)
        return area_up_to(fpr, pro, fpr_limit) / fpr_limit


def area_up_to(x: np.ndarray, y: np.ndarray, limit: float) -> float:
    """Trapezoid area under a curve with non-decreasing x, cut at x = limit by linear interpolation."""
    x0, x1, y0, y1 = x[:-1], x[1:], y[:-1], y[1:]
    end = np.minimum(x1, limit)
    used = end > x0  # vertical steps and segments beyond the limit add nothing
    x0, x1, y0, y1, end = x0[used], x1[used], y0[used], y1[used], end[used]
    y_end = y0 + (y1 - y0) * (end - x0) / (x1 - x0)
    return float(np.sum((end - x0) * (y0 + y_end) / 2))
