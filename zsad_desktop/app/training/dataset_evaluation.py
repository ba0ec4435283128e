"""Evaluate a detector on a benchmark dataset (MVTec AD, VisA, BTAD, folder).

Per category: image and pixel metrics of the maps at the masks' size; the
mean over categories is what papers report.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zsad_desktop.app.prediction.folder_prediction import detect_files
from zsad_desktop.detection.interface import Detector
from zsad_desktop.evaluation import evaluate, load_mask, read_dataset
from zsad_desktop.imaging import ImageLoadError

METRICS = (
    "image_auroc",
    "image_ap",
    "image_f1_max",
    "pixel_auroc",
    "pixel_ap",
    "pixel_f1_max",
    "pixel_aupro",
)


@dataclass
class DatasetEvaluation:
    per_category: dict[str, dict[str, float]]
    skipped: list[str]

    @property
    def mean(self) -> dict[str, float]:
        out = {}
        for metric in METRICS:
            values = [
                m[metric] for m in self.per_category.values() if not math.isnan(m.get(metric, math.nan))
            ]
            out[metric] = float(np.mean(values)) if values else math.nan
        return out

    def table(self) -> str:
        header = f"{'category':<16}" + "".join(
            f"{m.replace('pixel_', 'px_').replace('image_', 'img_'):>12}" for m in METRICS
        )
        lines = [header, "-" * len(header)]
        for name, metrics in [*self.per_category.items(), ("mean", self.mean)]:
            lines.append(f"{name:<16}" + "".join(f"{metrics.get(m, math.nan) * 100:>12.1f}" for m in METRICS))
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {"per_category": self.per_category, "mean": self.mean, "skipped": self.skipped}, indent=2
        )


def evaluate_dataset(
    detector: Detector,
    root: Path,
    layout: str = "mvtec",
    categories: list[str] | None = None,
    batch_size: int = 4,
    progress: Callable[[str, int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> DatasetEvaluation:
    dataset = read_dataset(Path(root), layout=layout, split="test", categories=categories)
    per_category: dict[str, dict[str, float]] = {}
    skipped: list[str] = []
    for category, samples in dataset.items():
        by_path = {s.image_path: s for s in samples}
        labels, scores, masks, maps = [], [], [], []
        report = (lambda done, total, c=category: progress(c, done, total)) if progress else None
        for path, outcome in detect_files(detector, list(by_path), batch_size, report, cancel):
            if isinstance(outcome, ImageLoadError):
                skipped.append(str(outcome))
                continue
            sample = by_path[path]
            labels.append(sample.label)
            scores.append(outcome.score)
            # An anomalous image without a mask (head CT) has no pixel truth: leave it out of pixel metrics.
            masks.append(load_mask(sample, outcome.heatmap.shape) if sample.has_pixel_truth else None)
            maps.append(outcome.heatmap)
        if labels:
            per_category[category] = evaluate(np.array(labels), np.array(scores), masks, maps).to_dict()
    return DatasetEvaluation(per_category, skipped)


def evaluate_samples(detector: Detector, samples, batch_size: int = 4) -> dict[str, float]:
    """Metrics of `detector` on labelled samples (image_path, mask_path, label)."""
    by_path = {s.image_path: s for s in samples}
    labels, scores, masks, maps = [], [], [], []
    for path, outcome in detect_files(detector, list(by_path), batch_size):
        if isinstance(outcome, ImageLoadError):
            continue
        sample = by_path[path]
        labels.append(sample.label)
        scores.append(outcome.score)
        masks.append(
            load_mask(sample, outcome.heatmap.shape) if sample.label == 0 or sample.mask_path else None
        )
        maps.append(outcome.heatmap)
    return evaluate(np.array(labels), np.array(scores), masks, maps).to_dict()
