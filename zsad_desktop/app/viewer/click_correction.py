"""Correcting a mask with clicks: "defect here" and "not defect here".

A click goes in the middle of what is wrong, so its distance to the outline tells how far the
outline is out: mask_outline_moves.py moves the outline by about twice that distance (or removes a
region a negative click strikes at its heart), then a binary graph cut (mask_graph_cut.py) lets
the image's edges and the heatmap settle the moved outline within a narrow band (after a click a
pixel from the outline, only around what it moved; after a later negative click, the cut decides
all that the shrink took but the click's inscribed disk). A positive click
far from every region (or on an empty mask) re-segments the crop around it with the same cut,
whose evidence is the current mask, the heatmap, the image and every click so far. Clicks are hard
constraints (positives end up inside, negatives outside). No weights.

That open cut is mask_open_cut.py, the band along a moved outline mask_band_cut.py;
`snap_to_edges` runs the band cut along the whole outline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from zsad_desktop.app.viewer.mask_band_cut import band_cut, settle_pixels
from zsad_desktop.app.viewer.mask_open_cut import open_cut
from zsad_desktop.app.viewer.mask_outline_moves import FINE_GAP, disk_around, distance_to, move_outline

NEIGHBOURHOOD_SIDE = 1024  # the most a click may change, per side, on any image
LOCAL = 1.5  # after a region's first correction, a click moves its outline this many times the move's depth around it
REFINE = 0.25  # times the click's gap: the band along a moved outline where the image's edges refine it
REFINE_MIN = 1.0  # px, the narrowest such band
SETTLE = 2.0  # times that band: how far from what a fine click moved the edges may settle the outline


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
    """(top, left, bottom, right) of the region a click may change, clipped to `shape`.

    An image up to NEIGHBOURHOOD_SIDE a side is all neighbourhood. On a larger one it is a window of
    half that side around the click, grown to hold the mask region the click touches, up to
    NEIGHBOURHOOD_SIDE a side: a click on a 20,000 px image touches only its surroundings."""
    h, w = shape
    _check_click(shape, click)
    if h <= NEIGHBOURHOOD_SIDE and w <= NEIGHBOURHOOD_SIDE:
        return 0, 0, h, w
    half = NEIGHBOURHOOD_SIDE // 2
    top, left = click.y - half // 2, click.x - half // 2
    bottom, right = top + half, left + half
    # the region the click touches, looked for within the largest window only
    wt, wl = max(0, click.y - half), max(0, click.x - half)
    window = np.asarray(mask[wt : click.y + half, wl : click.x + half], bool)
    if window[click.y - wt, click.x - wl]:
        _, regions, stats, _ = cv2.connectedComponentsWithStats(window.astype(np.uint8), connectivity=8)
        x, y, cw, ch = stats[regions[click.y - wt, click.x - wl], :4]
        top, left = min(top, wt + y - 16), min(left, wl + x - 16)
        bottom, right = max(bottom, wt + y + ch + 16), max(right, wl + x + cw + 16)
    top, left = max(top, click.y - half), max(left, click.x - half)
    bottom, right = min(bottom, click.y + half), min(right, click.x + half)
    # shifted inside the image rather than cut, so a click near the border keeps its full window
    top, bottom = _fit(top, bottom, h)
    left, right = _fit(left, right, w)
    return int(top), int(left), int(bottom), int(right)


def _fit(low: int, high: int, size: int) -> tuple[int, int]:
    if low < 0:
        low, high = 0, high - low
    if high > size:
        low, high = max(0, low - (high - size)), size
    return low, high


def correct_with_clicks(
    image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray, clicks: Sequence[Click]
) -> np.ndarray:
    """The new bool mask for this crop. image: what the reviewer sees, uint8 (H, W) or (H, W, 3);
    heatmap: float32 (H, W) in 0..1 at the same size, or None; mask: bool (H, W), the current mask;
    clicks: every click so far inside the crop (hard constraints: positives inside, negatives outside).
    The last click is the newest."""
    image, mask = np.asarray(image), np.asarray(mask, bool)
    _check_inputs(image, heatmap, mask)
    clicks = [Click(int(c.x), int(c.y), bool(c.positive)) for c in clicks]  # numpy or float coordinates too
    for c in clicks:
        _check_click(mask.shape, c)
    out = mask.copy()
    if not clicks:
        return out
    h, w = mask.shape
    move = move_outline(mask, clicks, LOCAL) if h * w > 1 else None
    if move is not None:
        out = move.mask
        if REFINE > 0 and move.changed.any():
            newest = clicks[-1]
            if not move.whole and not newest.positive and move.gap > FINE_GAP:
                # a local shrink is a guess but for the click's inscribed disk: the click goes in the
                # middle of what is wrong, so that disk is all wrong; the image decides the rest
                sure = disk_around((h, w), newest.x, newest.y, move.gap)
                out = settle_pixels(image, heatmap, out, (out != mask) & ~sure, clicks)
            else:
                band = max(REFINE_MIN, REFINE * move.gap)
                refined = band_cut(image, heatmap, out, move.changed, band, clicks)
                if move.gap <= FINE_GAP:
                    # a click a pixel from the outline says that pixel is wrong, not that the rest of
                    # the outline should shift by one: the edges settle only around what it moved
                    refined = np.where(distance_to(out != mask) <= SETTLE * band, refined, out)
                out = refined
            # a positive click only adds and a negative one only removes: the edges settle the move, not undo it
            out = out | mask if clicks[-1].positive else out & mask
        if clicks[-1].positive:
            _fill_holes_at(out, clicks)
        for c in clicks:
            out[c.y, c.x] = c.positive
        return out
    if h * w > 1:
        out = open_cut(image, heatmap, mask, clicks)
    _remove_struck_regions(out, mask, clicks)
    if clicks[-1].positive:
        _fill_holes_at(out, clicks)
    for c in clicks:
        out[c.y, c.x] = c.positive
    return out


def _fill_holes_at(out: np.ndarray, clicks: Sequence[Click]) -> None:
    """Close the holes of the region the newest positive click is in (defects have none, a cut on
    a textured defect leaves some), except a hole a negative click asked for."""
    newest = clicks[-1]
    if not out[newest.y, newest.x]:
        return
    _, regions, stats, _ = cv2.connectedComponentsWithStats(out.astype(np.uint8), connectivity=8)
    label = regions[newest.y, newest.x]
    x, y, w, h = stats[label, :4]
    region = np.pad(regions[y : y + h, x : x + w] == label, 1)
    outside = np.zeros((h + 4, w + 4), np.uint8)
    open_space = (~region).astype(np.uint8)
    cv2.floodFill(open_space, outside, (0, 0), 2)
    holes = (open_space == 1)[1:-1, 1:-1]
    for c in clicks:
        if not c.positive and y <= c.y < y + h and x <= c.x < x + w and holes[c.y - y, c.x - x]:
            _, parts = cv2.connectedComponents(holes.astype(np.uint8), connectivity=4)
            holes &= parts != parts[c.y - y, c.x - x]
    out[y : y + h, x : x + w] |= holes


def _remove_struck_regions(out: np.ndarray, before: np.ndarray, clicks: Sequence[Click]) -> None:
    """A negative click at the heart of a region with no positive click takes all of that region away.

    Near the region's rim the same click only trims it (the cut decides): "not defect here" in the
    fat margin of a proposal means the margin, in its middle it means the whole region."""
    newest = clicks[-1]
    if newest.positive or not before[newest.y, newest.x]:
        return
    _, regions = cv2.connectedComponents(before.astype(np.uint8), connectivity=8)
    label = regions[newest.y, newest.x]
    if any(c.positive and regions[c.y, c.x] == label for c in clicks):
        return
    region = regions == label
    depth = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    if depth[newest.y, newest.x] >= 0.5 * depth.max():
        out[region] = False


def snap_to_edges(
    image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray, band: int | None = None
) -> np.ndarray:
    """The mask tightened (or loosened) to the image's edges within a band around its outline.

    Deeper inside than `band` (default 4% of the longer side) stays defect, further outside stays
    normal; in between, the same graph cut as the clicks decides, its colours learnt from the mask's
    inner part and from outside the band. A mask thinner than the band keeps its inner half."""
    image, mask = np.asarray(image), np.asarray(mask, bool)
    _check_inputs(image, heatmap, mask)
    if not mask.any() or mask.all() or mask.size < 4:
        return mask.copy()
    band = max(1, round(0.04 * max(mask.shape))) if band is None else int(band)
    if band < 1:
        raise ValueError(f"band of {band} px: give at least 1")
    return band_cut(image, heatmap, mask, mask, band, ())
