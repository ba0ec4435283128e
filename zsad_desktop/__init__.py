"""zsad-desktop: review anomalies proposed by zero-shot CLIP detectors."""

__version__ = "0.1.0"
