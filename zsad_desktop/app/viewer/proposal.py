"""The proposed mask of a heatmap at a threshold: made where it is cheapest to wait for it.

The review window reads an image and its heatmap on a loader thread; making the
proposal there too (for the threshold on screen) keeps a 20,000 px image's
grown mask, its regions and the editor's copy of it off the GUI thread. The
viewer model uses a proposal made ahead when it still matches its threshold,
else makes one itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zsad_desktop.app.viewer.mask_editing import Region, mask_regions, sparse_copy, strongest, threshold_mask
from zsad_desktop.app.viewer.reduced_proposal import grown_mask, reduced_regions

MAX_REGIONS = 50  # the strongest; a noisy low threshold can make thousands


@dataclass(frozen=True)
class Proposal:
    threshold: float
    min_area: int
    display: np.ndarray  # the heatmap on the display scale it was thresholded on
    mask: np.ndarray  # at the image's size
    regions: list[Region]
    editable: np.ndarray | None = None  # a copy of `mask` for the reviewer's editor, made ahead

    def matches(self, threshold: float, min_area: int) -> bool:
        return (self.threshold, self.min_area) == (threshold, min_area)


def make_proposal(
    display01: np.ndarray, shape: tuple[int, ...], threshold: float, min_area: int = 0, editable: bool = False
) -> Proposal:
    """The proposal of `display01` (the image's size, or a reduction of it) over an image of `shape`."""
    if display01.shape == tuple(shape[:2]):
        mask = threshold_mask(display01, threshold, min_area)
        regions = mask_regions(mask, display01, MAX_REGIONS)
    else:  # a reduced map of a very large image: thresholded there, the mask grown to the image
        reduced = threshold_mask(display01, threshold, min_area)
        mask = grown_mask(reduced, shape)
        regions = strongest(reduced_regions(reduced, shape, display01), MAX_REGIONS)
    return Proposal(threshold, min_area, display01, mask, regions, sparse_copy(mask) if editable else None)


def proposal_ahead(
    display01: np.ndarray | None, shape: tuple[int, ...], threshold: float, min_area: int
) -> Proposal | None:
    """On a loader thread: the proposal a viewer showing `display01` (the heatmap on its display scale)
    at `threshold` will need."""
    if display01 is None:
        return None
    return make_proposal(display01, shape, threshold, min_area, editable=True)
