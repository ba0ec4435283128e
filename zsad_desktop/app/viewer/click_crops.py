"""What a click or a snap reads and computes, on the click session's worker (Qt-free).

Each operation works on a neighbourhood: the crop of what the reviewer sees
(the windowed 8-bit view), of the heatmap at image coordinates (a reduced
heatmap read by nearest pixel) and of the mask, with the results of the
operations before it in the same run written in. Nothing else of the image is
read or copied, so a click on a 20,000 px image costs what it costs on a small one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zsad_desktop.app.viewer import click_correction
from zsad_desktop.app.viewer.click_correction import Click
from zsad_desktop.app.viewer.click_models import EDGES_MODEL, ClickModel
from zsad_desktop.app.viewer.reduced_proposal import source_pixels

SNAP = "snap"  # an operation in the queue beside the clicks
SNAP_MARGIN = 32  # pixels around the mask's bounding box that a snap reads
SNAP_MAX_SIDE = 4096  # a snap reads the mask's bounding box at most this large a side
Box = tuple[int, int, int, int]  # top, left, bottom, right


@dataclass(frozen=True)
class Result:
    """One operation's corrected crop, to be written at (top, left)."""

    op: Click | str
    top: int
    left: int
    window: np.ndarray


def correct(
    ops: Sequence[Click | str],
    in_effect: Sequence[Click],
    pixels8: np.ndarray,
    display: np.ndarray | None,
    mask: np.ndarray,
    model: ClickModel = EDGES_MODEL,
) -> tuple[list[Result], str | None]:
    """On the worker: each operation in order, on its neighbourhood, each seeing the ones before; the
    clicks go to `model`, a snap to the built-in edges. Returns the results and, if one failed, why
    (the ones after it are not run)."""
    shape = mask.shape
    clicks = list(in_effect)
    results: list[Result] = []
    for op in ops:
        try:
            if isinstance(op, Click):
                clicks.append(op)
                box = model.neighbourhood(shape, mask, op, clicks)
            else:
                snap_box = _snap_box(mask, results)
                if snap_box is None:
                    raise ValueError("the mask is empty")
                box = snap_box
                if max(box[2] - box[0], box[3] - box[1]) > SNAP_MAX_SIDE:
                    raise ValueError(
                        f"the mask spans {box[3] - box[1]} x {box[2] - box[0]} pixels; snapping works on "
                        f"masks up to {SNAP_MAX_SIDE} px a side, so correct this one with clicks"
                    )
            image, heat, crop = read_crops(box, pixels8, display, mask, results)
            if isinstance(op, Click):
                local = [_local(c, box) for c in clicks if _inside(c, box)]
                window = model.correct(image, heat, crop, local)
            else:
                window = click_correction.snap_to_edges(image, heat, crop)
            window = np.asarray(window, bool)
            if window.shape != crop.shape:
                raise ValueError(f"the correction is {window.shape}, not the neighbourhood's {crop.shape}")
        except Exception as error:  # noqa: BLE001 - the mask stays; the reviewer is told why
            return results, f"{type(error).__name__}: {error}"
        results.append(Result(op, box[0], box[1], window))
    return results, None


def read_crops(
    box: Box,
    pixels8: np.ndarray,
    display: np.ndarray | None,
    mask: np.ndarray,
    earlier: Sequence[Result] = (),
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The neighbourhood's image as the reviewer sees it, its heatmap at image coordinates (0..1,
    float32; None without one) and its mask (with the `earlier` results of this run written in)."""
    top, left, bottom, right = box
    image = np.ascontiguousarray(pixels8[top:bottom, left:right])
    heat = None if display is None else heatmap_crop(display, mask.shape, box)
    crop = mask[top:bottom, left:right].copy()
    for result in earlier:
        h, w = result.window.shape
        t, lft = max(top, result.top), max(left, result.left)
        b, r = min(bottom, result.top + h), min(right, result.left + w)
        if t < b and lft < r:
            crop[t - top : b - top, lft - left : r - left] = result.window[
                t - result.top : b - result.top, lft - result.left : r - result.left
            ]
    return image, heat, crop


def heatmap_crop(display: np.ndarray, shape: tuple[int, int], box: Box) -> np.ndarray:
    """The heatmap under `box` of an image of `shape`; a reduced heatmap is read by nearest pixel."""
    top, left, bottom, right = box
    if display.shape[:2] == tuple(shape):
        crop = display[top:bottom, left:right]
    else:
        rows = source_pixels(shape[0], display.shape[0])[top:bottom]
        cols = source_pixels(shape[1], display.shape[1])[left:right]
        crop = np.take(np.take(display, rows, axis=0), cols, axis=1)
    return np.clip(np.asarray(crop, np.float32), 0.0, 1.0)


def _snap_box(mask: np.ndarray, earlier: Sequence[Result]) -> Box | None:
    """The mask's bounding box (with this run's earlier results) and a margin for the band."""
    boxes = []
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size:
        cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
        boxes.append((int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1))
    for result in earlier:
        if result.window.any():
            h, w = result.window.shape
            boxes.append((result.top, result.left, result.top + h, result.left + w))
    if not boxes:
        return None
    height, width = mask.shape
    return (
        max(0, min(b[0] for b in boxes) - SNAP_MARGIN),
        max(0, min(b[1] for b in boxes) - SNAP_MARGIN),
        min(height, max(b[2] for b in boxes) + SNAP_MARGIN),
        min(width, max(b[3] for b in boxes) + SNAP_MARGIN),
    )


def _inside(click: Click, box: Box) -> bool:
    return box[0] <= click.y < box[2] and box[1] <= click.x < box[3]


def _local(click: Click, box: Box) -> Click:
    return Click(click.x - box[1], click.y - box[0], click.positive)
