"""Scoring the open workspace on a Ray cluster from the window."""

from zsad_desktop.ui.cluster.cluster_controller import ClusterController

__all__ = ["ClusterController"]
