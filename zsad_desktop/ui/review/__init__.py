"""Deciding on the image on screen: the review panel, its controller and the most-informative order."""

from zsad_desktop.ui.review.informative_controller import InformativeController
from zsad_desktop.ui.review.review_controller import ReviewController
from zsad_desktop.ui.review.review_panel import ReviewPanel

__all__ = ["InformativeController", "ReviewController", "ReviewPanel"]
