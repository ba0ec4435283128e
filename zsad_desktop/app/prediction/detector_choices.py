"""What the settings can offer for a detector: the registered methods and the precisions, described."""

from __future__ import annotations

from zsad_desktop.detection.execution import PRECISIONS, precision_summary
from zsad_desktop.detection.interface import available_methods

__all__ = ["PRECISIONS", "available_methods", "precision_summary"]
