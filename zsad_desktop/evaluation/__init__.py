"""Metrics and benchmark dataset readers (no torch, no Qt)."""

from zsad_desktop.evaluation.datasets import LAYOUTS, DatasetError, Sample, load_mask, read_dataset
from zsad_desktop.evaluation.metrics import (
    EvaluationResult,
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

__all__ = [
    "LAYOUTS", "DatasetError", "Sample", "load_mask", "read_dataset", "EvaluationResult", "aupro", "dice", "evaluate",
    "f1_max", "image_ap", "image_auroc", "iou", "pixel_ap", "pixel_auroc", "pixel_f1_max",
]
