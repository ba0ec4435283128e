"""The simulated reviewer of the click benchmark: the RITM / SimpleClick clicker and the manual tools.

The clicker puts the next click at the point deepest inside the largest error region (the
largest distance-transform value over missed and false pixels, away from earlier clicks):
positive inside a missed region, negative inside a false one. The same clicker drives the
click tool and the brush/eraser baseline; the polygon baseline is the fewest vertices of
polygons traced around the true mask (Douglas-Peucker at falling tolerances) that reach the IoU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from zsad_desktop.app.viewer.click_correction import Click
from zsad_desktop.app.viewer.click_models import EDGES_MODEL, ClickModel

MAX_CLICKS = 20


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def next_click(truth: np.ndarray, mask: np.ndarray, clicked: np.ndarray) -> Click | None:
    """RITM's clicker: deepest point of the larger of the missed and the false regions."""
    best = None
    for region, positive in ((truth & ~mask, True), (mask & ~truth, False)):
        padded = np.pad(region & ~clicked, 1).astype(np.uint8)
        depth = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
        peak = float(depth.max())
        if peak > 0 and (best is None or peak > best[0]):
            y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
            best = (peak, Click(int(x), int(y), positive))
    return None if best is None else best[1]


@dataclass
class Run:
    """IoU before any click and after each click (the last value repeated once the clicker stops)."""

    ious: list[float]
    ms: list[float] = field(default_factory=list)

    def clicks_to(self, target: float) -> int:
        """Clicks to reach `target` (0: the start already did); MAX_CLICKS when never."""
        for n, value in enumerate(self.ious):
            if value >= target:
                return n
        return MAX_CLICKS

    def curve(self) -> np.ndarray:
        out = np.array(self.ious + [self.ious[-1]] * (MAX_CLICKS + 1 - len(self.ious)))
        return out[: MAX_CLICKS + 1]


def tool_step(
    image, heatmap, mask: np.ndarray, clicks: list[Click], model: ClickModel = EDGES_MODEL
) -> np.ndarray:
    """What the viewer does on a click: correct the click's neighbourhood, in its coordinates (in place)."""
    top, left, bottom, right = model.neighbourhood(mask.shape, mask, clicks[-1], clicks)
    inside = [
        Click(c.x - left, c.y - top, c.positive)
        for c in clicks
        if top <= c.y < bottom and left <= c.x < right
    ]
    crop_heat = None if heatmap is None else heatmap[top:bottom, left:right]
    new = model.correct(image[top:bottom, left:right], crop_heat, mask[top:bottom, left:right], inside)
    mask[top:bottom, left:right] = new  # in place, as the viewer's editor writes its window
    return mask


def disk_oracle_step(truth: np.ndarray):
    """A step for `simulate` that knows the truth: each click adds (or removes) the largest disk that fits
    in the error under it, and never a wrong pixel. The best that painting click by click can do, as a
    measure of what a click must bring beyond it (edges, shape) to reach an IoU in few clicks."""

    def step(mask: np.ndarray, clicks: list[Click]) -> np.ndarray:
        click = clicks[-1]
        error = (truth & ~mask) if click.positive else (mask & ~truth)
        depth = cv2.distanceTransform(np.pad(error, 1).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        disk = np.zeros(truth.shape, np.uint8)
        cv2.circle(disk, (click.x, click.y), max(1, round(float(depth[click.y + 1, click.x + 1]))), 1, -1)
        out = mask.copy()
        out[disk.astype(bool) & error] = click.positive
        return out

    return step


def brush_step(mask: np.ndarray, click: Click, radius: int) -> np.ndarray:
    out = mask.astype(np.uint8)
    cv2.circle(out, (click.x, click.y), radius, 1 if click.positive else 0, thickness=-1)
    return out.astype(bool)


def simulate(truth: np.ndarray, start: np.ndarray, step, stop_at: float = 0.9) -> Run:
    """Click until IoU `stop_at` or MAX_CLICKS; `step(mask, clicks)` returns the new mask."""
    mask = start.copy()
    clicked = np.zeros_like(truth)
    clicks: list[Click] = []
    run = Run([iou(mask, truth)])
    while len(clicks) < MAX_CLICKS and run.ious[-1] < stop_at:
        click = next_click(truth, mask, clicked)
        if click is None:
            break
        clicks.append(click)
        clicked[click.y, click.x] = True
        began = time.perf_counter()
        mask = step(mask, clicks)
        run.ms.append((time.perf_counter() - began) * 1000)
        run.ious.append(iou(mask, truth))
    return run


def polygon_curve(truth: np.ndarray, most: int = 100) -> np.ndarray:
    """best[k]: the highest IoU of polygons with k vertices in all (k <= most) traced around the truth."""
    contours, _ = cv2.findContours(truth.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contours = sorted(contours, key=cv2.contourArea, reverse=True)
    best = np.zeros(most + 1)
    side = max(truth.shape)
    for tolerance in np.geomspace(side / 4, 0.25, 48):
        polygons = []
        for contour in contours:
            approx = cv2.approxPolyDP(contour, float(tolerance), True)
            if len(approx) < 3:  # a polygon needs three vertices; a tiny part gets a triangle
                x, y, w, h = cv2.boundingRect(contour)
                approx = np.array([[[x, y]], [[x + w, y]], [[x, y + h]]], np.int32)
            polygons.append(approx)
            drawn = np.zeros(truth.shape, np.uint8)
            cv2.fillPoly(drawn, polygons, 1)
            vertices = sum(len(p) for p in polygons)
            if vertices <= most:
                best[vertices] = max(best[vertices], iou(drawn.astype(bool), truth))
    return np.maximum.accumulate(best)


def vertices_to(curve: np.ndarray, target: float) -> int:
    reached = np.nonzero(curve >= target)[0]
    return int(reached[0]) if reached.size else len(curve) - 1
