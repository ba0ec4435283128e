"""Placeholder of the click correction: replaced entirely by the real module when it lands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

RADIUS = 48


@dataclass(frozen=True)
class Click:
    x: int
    y: int
    positive: bool


def click_neighbourhood(
    shape: tuple[int, int], mask: np.ndarray, click: Click, clicks: Sequence[Click] = ()
) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    return (
        max(0, click.y - RADIUS),
        max(0, click.x - RADIUS),
        min(h, click.y + RADIUS + 1),
        min(w, click.x + RADIUS + 1),
    )


def correct_with_clicks(
    image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray, clicks: Sequence[Click]
) -> np.ndarray:
    out = np.asarray(mask, bool).copy()
    for click in clicks:
        disk = np.zeros(out.shape, np.uint8)
        cv2.circle(disk, (click.x, click.y), 6, 1, -1)
        out[disk > 0] = click.positive
    return out


def snap_to_edges(
    image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray, band: int | None = None
) -> np.ndarray:
    return cv2.erode(np.asarray(mask, np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
