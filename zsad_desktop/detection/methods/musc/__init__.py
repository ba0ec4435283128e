"""MuSc: zero-shot detection by mutual scoring of a folder's images (registers "musc")."""

from zsad_desktop.detection.methods.musc.detector import MuscDetector, folder_subsets

__all__ = ["MuscDetector", "folder_subsets"]
