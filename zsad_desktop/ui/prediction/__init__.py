"""Predictions in the background: jobs as Qt signals, the job bar, and new results landing in the window."""

from zsad_desktop.ui.prediction.job_bridge import JobBridge
from zsad_desktop.ui.prediction.job_progress import JobProgress
from zsad_desktop.ui.prediction.prediction_controller import PredictionController, describe_error
from zsad_desktop.ui.prediction.prediction_watcher import PredictionWatcher

__all__ = ["JobBridge", "JobProgress", "PredictionController", "PredictionWatcher", "describe_error"]
