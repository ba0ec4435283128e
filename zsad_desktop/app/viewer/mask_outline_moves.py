"""Where a click moves the mask's outline, before the image has its say.

A reviewer (and the simulated one of the benchmark) clicks in the middle of what is wrong, so a
click's distance `d` to the outline tells how thick the error is: the outline is out by about 2d.
- A negative click inside a region, near its rim compared with the region's own depth, says the
  region is too fat: its outline moves in by 2d. Near the region's middle (or where nothing would
  be left) it says the region is not a defect at all: the region goes.
- A positive click outside the mask, near a region compared with that region's depth, says the
  region is too thin: its outline moves out by 2d. Far from every region it is a new defect, which
  the graph cut finds from the image (`None` here).
A region's first correction moves its whole outline (a thresholded heatmap is too wide all round);
once an earlier click lies on or near it, only the part within `local` times the move of the click
(all of it when `local` is None). Two exceptions read the history of clicks:
- A whole-outline move read from one distance is good to about a pixel. The next click of the
  same sign a pixel or so from the outline says it fell short all round: the whole outline moves
  once more (a second time at most).
- A negative click whose shrink would reach a "defect here" click in the same region says the
  region leaked past the defect: only the part nearer this click than any "defect here" click
  shrinks, so the defect the reviewer pointed at stays.
The choice and the factors were set with bench/click_correction.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

REMOVE_DEPTH = 0.6  # a negative click this deep (of the region's deepest) removes the region
MARGIN = 2.0  # times the click's gap: how far the outline was out
NEAR_OUTLINE = 0.04  # of the side: an earlier click this close to a region has corrected it
OPEN_DISTANCE = 1.5  # a positive click further than this times the nearest region's depth starts a new one
FINE_GAP = 1.5  # px: a click this close to the outline says the outline is a pixel or so out


@dataclass(frozen=True)
class OutlineMove:
    mask: np.ndarray  # the mask with the outline moved
    changed: np.ndarray  # the region whose outline moved (after the move), where the image may refine it
    gap: float  # the click's distance to the outline: how far the outline was out, halved
    whole: bool = True  # whether the whole outline moved (else only the stretch around the click)


def distance_to(seeds: np.ndarray) -> np.ndarray:
    """Euclidean distance of every pixel to the nearest seed (inf without seeds). The image's
    border is no outline: a region cut by the border keeps its depth there."""
    if not seeds.any():
        return np.full(seeds.shape, np.inf, np.float32)
    return cv2.distanceTransform((~seeds).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def disk_around(shape: tuple[int, int], x: int, y: int, radius: float) -> np.ndarray:
    """Pixels within `radius` of (x, y)."""
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    return (yy - y) ** 2 + (xx - x) ** 2 <= radius**2


def move_outline(mask: np.ndarray, clicks: Sequence, local: float | None = None) -> OutlineMove | None:
    """The mask after the newest click moves its outline; None where the click starts a new
    region (a positive click far from every region) or says nothing new (it agrees with the mask)."""
    newest = clicks[-1]
    x, y = newest.x, newest.y
    if bool(mask[y, x]) == newest.positive:
        return None
    if newest.positive:
        return _grow(mask, clicks, x, y, local)
    return _shrink(mask, clicks, x, y, local)


def _whole_outline(region: np.ndarray, clicks: Sequence, reach: float, gap: float) -> bool:
    """Whether the newest click moves the region's whole outline: no earlier click lies in the
    region or near its outline (its first correction), or the one earlier click of this sign was
    the first and this one, a pixel or so from the outline, says that move fell short. (A click
    that moved an outline ends up about its own gap from it; one that removed a region elsewhere
    is further.)"""
    near = distance_to(region)
    reach = max(reach, NEAR_OUTLINE * max(region.shape))
    earlier = [c for c in clicks[:-1] if near[c.y, c.x] <= reach]
    if not earlier:
        return True
    sign = clicks[-1].positive
    return earlier[0].positive == sign and sum(c.positive == sign for c in earlier) == 1 and gap <= FINE_GAP


def _grow(mask: np.ndarray, clicks: Sequence, x: int, y: int, local: float | None) -> OutlineMove | None:
    if not mask.any():
        return None
    outside = (~mask).astype(np.uint8)
    # each outside pixel learns which region is nearest (a Voronoi labelling of the mask's regions)
    dist, nearest = cv2.distanceTransformWithLabels(
        outside, cv2.DIST_L2, cv2.DIST_MASK_5, labelType=cv2.DIST_LABEL_CCOMP
    )
    gap = float(dist[y, x])
    region = mask & (nearest == nearest[y, x])
    depth = float(distance_to(~region).max()) if region.any() else 0.0
    if not region.any() or gap > OPEN_DISTANCE * depth + 3:
        return None
    amount = max(1.0, MARGIN * gap - 1)  # a click next to the outline (gap 1) says one pixel
    grown = distance_to(region) <= amount
    whole = local is None or _whole_outline(region, clicks, MARGIN * gap + 2, gap)
    if local is not None and not whole:
        grown &= disk_around(mask.shape, x, y, max(3.0, local * amount))
    new = mask | grown
    return OutlineMove(new, _component_at(new, x, y), gap, whole)


def _shrink(mask: np.ndarray, clicks: Sequence, x: int, y: int, local: float | None) -> OutlineMove:
    _, regions = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    region = regions == regions[y, x]
    depth = distance_to(~region)
    gap, deepest = float(depth[y, x]), float(depth.max())
    amount = max(1.0, MARGIN * gap - 1)
    kept = region & (depth > amount)
    whole = local is None or _whole_outline(region, clicks, MARGIN * gap + 2, gap)
    if local is not None and not whole:
        kept |= region & ~disk_around(mask.shape, x, y, max(3.0, local * amount))
    held = [
        c for c in clicks if c.positive and region[c.y, c.x]
    ]  # a region the reviewer said is defect stays
    if held and (gap >= REMOVE_DEPTH * deepest or any(not kept[c.y, c.x] for c in held)):
        # the shrink would reach a "defect here" click: only the part nearer this click shrinks
        defect = np.zeros(mask.shape, bool)
        defect[[c.y for c in held], [c.x for c in held]] = True
        kept |= region & (
            distance_to(defect) <= np.hypot(*np.ogrid[-y : mask.shape[0] - y, -x : mask.shape[1] - x])
        )
    new = mask.copy()
    if not held and (gap >= REMOVE_DEPTH * deepest or not (kept & (depth > amount)).any()):
        new[region] = False
        return OutlineMove(new, np.zeros_like(mask), gap)
    new[region & ~kept] = False
    return OutlineMove(new, kept, gap, whole)


def _component_at(pixels: np.ndarray, x: int, y: int) -> np.ndarray:
    _, regions = cv2.connectedComponents(pixels.astype(np.uint8), connectivity=8)
    return regions == regions[y, x]
