"""Correcting a mask with clicks: "defect here" and "not defect here".

Each click re-segments the region around it from the current mask, the heatmap, the image
and every click so far, which are hard constraints (positives end up inside, negatives
outside). Plain numpy and OpenCV, no weights.

The first version here is deliberately simple (a flood fill from positive clicks, removal of
the touched component for negative ones); the method is refined behind this interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

NEIGHBOURHOOD_SIDE = 1024  # the most a click may change, per side, on any image


@dataclass(frozen=True)
class Click:
    x: int  # column, in the arrays' coordinates
    y: int  # row
    positive: bool  # True: "defect here"; False: "not defect here"


def _check_click(shape: tuple[int, int], click: Click) -> None:
    h, w = shape
    if not (0 <= click.x < w and 0 <= click.y < h):
        raise ValueError(f"click at ({click.x}, {click.y}) is outside the {w} x {h} image")


def _check_inputs(image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray) -> None:
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
        raise ValueError(f"image of shape {image.shape} is neither grey (H, W) nor colour (H, W, 3)")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask of shape {mask.shape} does not fit an image of shape {image.shape[:2]}")
    if heatmap is not None and heatmap.shape != image.shape[:2]:
        raise ValueError(f"heatmap of shape {heatmap.shape} does not fit an image of shape {image.shape[:2]}")


def click_neighbourhood(
    shape: tuple[int, int], mask: np.ndarray, click: Click, clicks: Sequence[Click] = ()
) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the region a click may change: around the click and the mask
    component it touches, clipped to `shape`; at most NEIGHBOURHOOD_SIDE a side, so a click on a
    20,000 px image touches only its neighbourhood."""
    h, w = shape
    _check_click(shape, click)
    half = NEIGHBOURHOOD_SIDE // 2
    margin = max(32, min(h, w) // 8)
    top, left = max(0, click.y - margin), max(0, click.x - margin)
    bottom, right = min(h, click.y + margin + 1), min(w, click.x + margin + 1)
    # the component the click touches (or the nearest one within the margin) should fit whole
    wt, wl = max(0, click.y - half), max(0, click.x - half)
    wb, wr = min(h, click.y + half), min(w, click.x + half)
    window = np.asarray(mask[wt:wb, wl:wr], bool)
    if window.any():
        n, labels, stats, _ = cv2.connectedComponentsWithStats(window.astype(np.uint8), connectivity=8)
        near = labels[max(0, top - wt) : max(0, bottom - wt), max(0, left - wl) : max(0, right - wl)]
        for label in np.unique(near[near > 0]):
            x, y, cw, ch = stats[label, :4]
            top, left = min(top, wt + y - 8), min(left, wl + x - 8)
            bottom, right = max(bottom, wt + y + ch + 8), max(right, wl + x + cw + 8)
    # bounded around the click
    top, left = max(top, click.y - half, 0), max(left, click.x - half, 0)
    bottom, right = min(bottom, click.y + half, h), min(right, click.x + half, w)
    return int(top), int(left), int(bottom), int(right)


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    return image


def correct_with_clicks(
    image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray, clicks: Sequence[Click]
) -> np.ndarray:
    """The new bool mask for this crop. image: what the reviewer sees, uint8 (H, W) or (H, W, 3);
    heatmap: float32 (H, W) in 0..1 at the same size, or None; mask: bool (H, W), the current mask;
    clicks: every click so far inside the crop (hard constraints: positives inside, negatives outside).
    The last click is the newest."""
    image, mask = np.asarray(image), np.asarray(mask, bool)
    _check_inputs(image, heatmap, mask)
    for c in clicks:
        _check_click(mask.shape, c)
    out = mask.copy()
    if not clicks:
        return out
    last = clicks[-1]
    if last.positive:
        grey = _grey(image).astype(np.uint8)
        fill = np.zeros((grey.shape[0] + 2, grey.shape[1] + 2), np.uint8)
        cv2.floodFill(grey.copy(), fill, (last.x, last.y), 0, 12, 12, cv2.FLOODFILL_MASK_ONLY | 8)
        out |= fill[1:-1, 1:-1].astype(bool)
    else:
        n, labels = cv2.connectedComponents(out.astype(np.uint8), connectivity=8)
        if labels[last.y, last.x] > 0:
            out[labels == labels[last.y, last.x]] = False
    for c in clicks:
        out[c.y, c.x] = c.positive
    return out


def snap_to_edges(
    image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray, band: int | None = None
) -> np.ndarray:
    """The mask tightened (or loosened) to the image's edges within a band around its outline."""
    image, mask = np.asarray(image), np.asarray(mask, bool)
    _check_inputs(image, heatmap, mask)
    return mask.copy()
