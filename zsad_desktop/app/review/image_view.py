"""Everything the viewer shows for one image, as the review session reads it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zsad_desktop.app.review import decisions
from zsad_desktop.app.viewer import window_level
from zsad_desktop.app.workspace.workspace import ImageRow
from zsad_desktop.detection.interface import NormalisationStats


@dataclass
class ImageView:
    """Everything the viewer shows for one image."""

    row: ImageRow
    pixels8: np.ndarray  # as shown: 8 bit, (H, W) grey or (H, W, 3) colour
    heatmap: np.ndarray | None  # normalised 0..1 for display
    raw_heatmap: np.ndarray | None
    final_mask: np.ndarray | None
    proposal: np.ndarray | None
    history: list[decisions.HistoryEntry]
    levels: window_level.WindowLevel | None = None  # full-range pixels and the window `pixels8` shows
    scale: NormalisationStats | None = None  # the display scale `heatmap` was normalised with
    first_look: bool = False  # `heatmap` is the quick low-resolution one; the full one is on its way

    # what window/level needs, from the image as read
    @property
    def pixels(self) -> np.ndarray | None:
        return None if self.levels is None else self.levels.pixels

    @property
    def bit_depth(self) -> int:
        return 8 if self.levels is None else self.levels.bit_depth

    @property
    def modality(self) -> str:
        """ "photo" or "dicom", as the loader read it."""
        return "photo" if self.levels is None else self.levels.modality

    @property
    def kind(self) -> str:
        """What the window presets offer: "8-bit", "wide" or "hounsfield" (CT)."""
        return window_level.PHOTO_8BIT if self.levels is None else self.levels.kind

    @property
    def default_window(self) -> tuple[float, float] | None:
        """The file's own window (centre, width), if it has one."""
        file_window = None if self.levels is None else self.levels.file_window
        return None if file_window is None else file_window.as_tuple()
