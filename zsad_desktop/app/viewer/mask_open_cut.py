"""The graph cut of a crop around a click away from every outline (or on an empty mask): the
click finds a whole defect from the image's colours and edges, the heatmap, the current mask and
every click so far (mask_graph_cut.py holds the energy). A click is anything with x, y (in the
arrays' coordinates) and positive, as click_correction.Click.

The cut runs at most WORK_SIDE a side; only what the newest click changed is scaled back to full
size, so the untouched outline keeps its detail."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

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


def open_cut(image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray, clicks: Sequence) -> np.ndarray:
    """The mask with what the newest click adds (a positive one) or removes (a negative one)."""
    out = mask.copy()
    h, w = mask.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small_image = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1 else image
    prior = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    small_heat = None
    if heatmap is not None:
        small_heat = cv2.resize(np.asarray(heatmap, np.float32), size, interpolation=cv2.INTER_AREA)
    small_clicks = _scaled_clicks(clicks, scale, prior.shape)
    odds, feats, pos_seeds, neg_seeds = _log_odds(small_image, small_heat, prior, small_clicks, WEIGHTS)
    edges = contrast_edges(feats, WEIGHTS.pairwise)
    labels = cut(odds, edges, pos_seeds, neg_seeds & ~pos_seeds)
    added, removed = _newest_click_change(labels, prior >= 0.5, small_clicks[-1], WEIGHTS)
    # only the change goes back to full size, so the untouched outline keeps its detail
    full = (w, h)
    if added.any():
        out |= cv2.resize(added.astype(np.float32), full, interpolation=cv2.INTER_LINEAR) >= 0.5
    if removed.any():
        out &= cv2.resize(removed.astype(np.float32), full, interpolation=cv2.INTER_LINEAR) < 0.5
    return out


def _scaled_clicks(clicks: Sequence, scale: float, shape: tuple[int, int]) -> list:
    h, w = shape
    return [
        dataclasses.replace(c, x=min(w - 1, int(c.x * scale)), y=min(h - 1, int(c.y * scale))) for c in clicks
    ]


def _disks(shape: tuple[int, int], clicks: Sequence, positive: bool, radius: int) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    for c in clicks:
        if c.positive == positive:
            cv2.circle(out, (c.x, c.y), radius, 1, thickness=-1)
    return out.astype(bool)


def _log_odds(
    small_image: np.ndarray,
    small_heat: np.ndarray | None,
    prior: np.ndarray,
    clicks: Sequence,
    weights: Weights,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The unary log-odds of "defect" at the working size, and the features for the pairwise term."""
    feats = features(small_image)
    shape = prior.shape
    side = max(shape)
    inside = prior >= 0.5
    # the mask's colours are learnt from its inner part: a fat outline is mostly background
    depth = cv2.distanceTransform(np.pad(inside, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    core = depth >= weights.core * depth.max() if inside.any() else inside
    model_radius = max(1, round(weights.model_radius * side))
    pos_near = _disks(shape, clicks, True, model_radius)
    neg_near = _disks(shape, clicks, False, model_radius)
    # normal colours are learnt away from positive clicks: on an empty mask "everything else" holds the defect too
    pos_area = _disks(shape, clicks, True, max(1, round(weights.open_radius * side)))
    normal = (~inside & ~pos_area) | neg_near
    if not normal.any():
        normal = ~inside | neg_near
    appearance = appearance_log_odds(feats, (core | pos_near) & ~neg_near, normal & ~pos_near)
    odds = np.zeros(shape, np.float32) if appearance is None else weights.appearance * appearance
    # each click says the same about its surroundings, less with distance; the newest one about an
    # area as wide as its distance to the outline (a click goes in the middle of what is wrong)
    for c in clicks:
        d = distance_to(_disks(shape, [c], c.positive, 0))
        radius = weights.click_radius * side
        if c is clicks[-1]:
            gap = _gap(inside, c)
            radius = weights.open_radius * side if not np.isfinite(gap) else min(max(radius, gap), 0.1 * side)
        bump = weights.click * np.exp(-0.5 * (d / radius) ** 2)
        odds += bump if c.positive else -bump
    odds += weights.mask * (2.0 * prior - 1.0)
    # the newest click near the outline says the band along it, as deep as twice the click's distance,
    # is wrong, most of all close to the click: a fat or thin margin moves as a whole
    newest = clicks[-1]
    gap = _gap(inside, newest)
    if np.isfinite(gap) and inside.any():
        band = distance_to(inside if newest.positive else ~inside) <= weights.reach * gap
        band &= ~inside if newest.positive else inside
        d_new = distance_to(_disks(shape, [newest], newest.positive, 0))
        shift = weights.band * np.exp(-0.5 * (d_new / (weights.band_radius * side)) ** 2)
        odds += np.where(band, shift if newest.positive else -shift, 0)
    if small_heat is not None:
        odds += weights.heatmap * heatmap_log_odds(small_heat)
    # defect far from every positive click and from the mask is unlikely
    d_pos = distance_to(_disks(shape, clicks, True, 0) | inside)
    odds -= weights.far * np.minimum(d_pos / (weights.far_radius * side), 3.0)
    pos_seeds, neg_seeds = _disks(shape, clicks, True, 0), _disks(shape, clicks, False, 0)
    return odds.astype(np.float32), feats, pos_seeds, neg_seeds


def _component_at(pixels: np.ndarray, click: Any) -> np.ndarray:
    pixels = pixels.copy()
    pixels[click.y, click.x] = True
    _, regions = cv2.connectedComponents(pixels.astype(np.uint8), connectivity=8)
    return regions == regions[click.y, click.x]


def _gap(inside: np.ndarray, click: Any) -> float:
    """How far the click is from the other side of the outline (inf where there is none)."""
    other = ~inside if not click.positive else inside
    return float(distance_to(other)[click.y, click.x])


def _newest_click_change(
    labels: np.ndarray, inside: np.ndarray, newest: Any, weights: Weights
) -> tuple[np.ndarray, np.ndarray]:
    """(added, removed): what the newest click changes. A positive click only adds, a negative one
    only removes: the part of the cut's answer connected to the click, within a band along the
    outline as deep as a few times the click's own distance to it. A click goes in the middle of
    what is wrong, so a click just outside (or inside) the outline moves the outline there, all
    along the stretch that looks the same, and a click in the open finds a whole defect."""
    empty = np.zeros_like(labels)
    gap = _gap(inside, newest)
    if not np.isfinite(gap):
        band = distance_to(_disks(labels.shape, [newest], newest.positive, 0))
        reach = weights.open_reach * max(labels.shape)
    else:
        band = distance_to(inside if newest.positive else ~inside)
        reach = max(3.0, weights.reach * gap)
    if newest.positive:
        return _component_at(labels & ~inside & (band <= reach), newest), empty
    return empty, _component_at(~labels & inside & (band <= reach), newest) & inside
