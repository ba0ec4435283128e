"""The mask's outline settled on the image's edges within a band along it (Snap to edges, and
the last step of every click that moves an outline), or only chosen pixels settled (what a local
shrink guessed).

Deeper inside than the band stays defect, further outside stays normal; in between, the graph cut
of mask_graph_cut.py decides, its colours learnt from the inner part and from outside the band."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from zsad_desktop.app.viewer.mask_graph_cut import (
    WORK_SIDE,
    Weights,
    appearance_log_odds,
    contrast_edges,
    cut,
    features,
    heatmap_log_odds,
)
from zsad_desktop.app.viewer.mask_outline_moves import distance_to

WEIGHTS = Weights()


def band_cut(
    image: np.ndarray,
    heatmap: np.ndarray | None,
    mask: np.ndarray,
    region: np.ndarray,
    band: float,
    clicks: Sequence,
) -> np.ndarray:
    """The mask with `region`'s outline moved to the image's edges within `band` px of it; the
    rest of the mask stays, and every click stays a hard constraint."""
    h, w = mask.shape
    reach_px = int(np.ceil(band))
    ys, xs = np.nonzero(region)
    top, left = max(0, int(ys.min()) - 2 * reach_px), max(0, int(xs.min()) - 2 * reach_px)
    bottom, right = min(h, int(ys.max()) + 2 * reach_px + 1), min(w, int(xs.max()) + 2 * reach_px + 1)
    crop = region[top:bottom, left:right]
    scale = min(1.0, WORK_SIDE / max(crop.shape))
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small_image = image[top:bottom, left:right]
    small_image = cv2.resize(small_image, size, interpolation=cv2.INTER_AREA) if scale < 1 else small_image
    inside = cv2.resize(crop.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
    if not inside.any():
        return mask.copy()
    reach = max(1.0, band * scale)
    depth_in = distance_to(~inside)
    depth_out = distance_to(inside)
    sure_in = depth_in > reach
    if not sure_in.any():
        sure_in = depth_in >= 0.5 * depth_in.max()
    sure_out = depth_out > reach
    box = (top, left, bottom, right)
    feats, odds, pos, neg = _cut_terms(small_image, heatmap, box, scale, sure_in, sure_out, clicks)
    labels = cut(
        odds, contrast_edges(feats, WEIGHTS.pairwise), (sure_in | pos) & ~neg, (sure_out | neg) & ~pos
    )
    full = (crop.shape[1], crop.shape[0])
    out = mask.copy()
    window = out[top:bottom, left:right]
    others = mask[top:bottom, left:right] & ~crop  # the mask's other regions stay as they are
    added, removed = labels & ~inside, ~labels & inside
    if added.any():
        window |= (
            cv2.resize(added.astype(np.float32), full, interpolation=cv2.INTER_LINEAR) >= 0.5
        ) & ~others
    if removed.any():
        window &= (
            cv2.resize(removed.astype(np.float32), full, interpolation=cv2.INTER_LINEAR) < 0.5
        ) | others
    return out


def settle_pixels(
    image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray, open_pixels: np.ndarray, clicks: Sequence
) -> np.ndarray:
    """The mask with only `open_pixels` decided again by the image's edges and colours (and the
    heatmap): the rest of the mask is a hard constraint on the cut, and so is every click."""
    h, w = mask.shape
    if not open_pixels.any():
        return mask.copy()
    ys, xs = np.nonzero(open_pixels)
    top, left = max(0, int(ys.min()) - 8), max(0, int(xs.min()) - 8)  # a margin of known pixels to learn from
    bottom, right = min(h, int(ys.max()) + 9), min(w, int(xs.max()) + 9)
    crop_mask, crop_open = mask[top:bottom, left:right], open_pixels[top:bottom, left:right]
    scale = min(1.0, WORK_SIDE / max(crop_mask.shape))
    size = (max(1, round(crop_mask.shape[1] * scale)), max(1, round(crop_mask.shape[0] * scale)))
    small_image, small_mask, small_open = image[top:bottom, left:right], crop_mask, crop_open
    if scale < 1:
        small_image = cv2.resize(small_image, size, interpolation=cv2.INTER_AREA)
        small_mask = cv2.resize(crop_mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(
            bool
        )
        small_open = cv2.resize(crop_open.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(
            bool
        )
    sure_in, sure_out = small_mask & ~small_open, ~small_mask & ~small_open
    box = (top, left, bottom, right)
    feats, odds, pos, neg = _cut_terms(small_image, heatmap, box, scale, sure_in, sure_out, clicks)
    pos, neg = pos | sure_in, neg | sure_out
    labels = cut(odds, contrast_edges(feats, WEIGHTS.pairwise), pos & ~neg, neg & ~pos)
    if scale < 1:
        full = (crop_mask.shape[1], crop_mask.shape[0])
        labels = cv2.resize(labels.astype(np.float32), full, interpolation=cv2.INTER_LINEAR) >= 0.5
    out = mask.copy()
    out[top:bottom, left:right] = np.where(crop_open, labels, crop_mask)
    return out


def _cut_terms(
    small_image: np.ndarray,
    heatmap: np.ndarray | None,
    box: tuple[int, int, int, int],
    scale: float,
    sure_in: np.ndarray,
    sure_out: np.ndarray,
    clicks: Sequence,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features, log-odds of defect, positive seeds, negative seeds) of a crop (`box` of the full
    image, seen at `scale`): colours learnt from the sure pixels, the heatmap where there is one, and
    every click in the crop as a hard constraint."""
    top, left, bottom, right = box
    shape = sure_in.shape
    feats = features(small_image)
    odds = appearance_log_odds(feats, sure_in, sure_out)
    odds = np.zeros(shape, np.float32) if odds is None else WEIGHTS.appearance * odds
    if heatmap is not None:
        heat = cv2.resize(
            np.asarray(heatmap[top:bottom, left:right], np.float32),
            (shape[1], shape[0]),
            interpolation=cv2.INTER_AREA,
        )
        odds += WEIGHTS.heatmap * heatmap_log_odds(heat)
    pos, neg = np.zeros(shape, bool), np.zeros(shape, bool)
    for c in clicks:
        if top <= c.y < bottom and left <= c.x < right:
            y = min(shape[0] - 1, int((c.y - top) * scale))
            x = min(shape[1] - 1, int((c.x - left) * scale))
            (pos if c.positive else neg)[y, x] = True
    return feats, odds, pos, neg
