"""Crane (Salehi et al.): context-conditioned learned prompts and E-Attn dense features."""

from zsad_desktop.detection.methods.crane import trainer  # noqa: F401 - registers the trainer
from zsad_desktop.detection.methods.crane.detector import CraneDetector

__all__ = ["CraneDetector"]
