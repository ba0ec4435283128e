"""AA-CLIP (Ma et al.): anomaly-aware text anchors and patch alignment through residual adapters."""

from zsad_desktop.detection.methods.aaclip import trainer  # noqa: F401 - registers the trainer
from zsad_desktop.detection.methods.aaclip.config import AACLIPTrainingConfig
from zsad_desktop.detection.methods.aaclip.detector import AACLIPDetector

__all__ = ["AACLIPDetector", "AACLIPTrainingConfig"]
