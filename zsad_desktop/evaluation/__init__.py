"""Metrics and benchmark dataset readers (numpy, scipy, scikit-learn, OpenCV; no torch, no Qt).

Mask files and image suffixes are read through ``zsad_desktop.imaging`` so that a
dataset lists exactly the files the app's loader opens.
"""

from zsad_desktop.evaluation.datasets import LAYOUTS, DatasetError, Sample, load_mask, read_dataset
from zsad_desktop.evaluation.metrics import (
    EvaluationResult,
    UndefinedMetricWarning,
    aupro,
    dice,
    evaluate,
    f1_max,
    image_ap,
    image_auroc,
    iou,
    pixel_ap,
    pixel_auroc,
    pixel_f1_max,
)
from zsad_desktop.evaluation.pixel_ranking import MetricInputError, PixelRanking

__all__ = [
    "LAYOUTS",
    "DatasetError",
    "EvaluationResult",
    "MetricInputError",
    "PixelRanking",
    "Sample",
    "UndefinedMetricWarning",
    "aupro",
    "dice",
    "evaluate",
    "f1_max",
    "image_ap",
    "image_auroc",
    "iou",
    "load_mask",
    "pixel_ap",
    "pixel_auroc",
    "pixel_f1_max",
    "read_dataset",
]
