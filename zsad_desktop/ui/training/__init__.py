"""Retraining on reviews and model versions: the retrain panel, the comparison and the Models dialog."""

from zsad_desktop.ui.training.retraining_controller import RetrainingController

__all__ = ["RetrainingController"]
