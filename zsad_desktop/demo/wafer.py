"""Generated wafer demo: one large 16-bit grey TIFF of a die grid with a few defects.

For trying large-image review (tiled inference, tiled rendering, the
navigator, window/level on 16-bit data) without a line-scan camera. The
image is written band by band, so making a 20,000 px one needs little memory.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import tifffile

DIE = 512  # pixels per die, street included
STREET = 24
TILE = 512  # TIFF tiles; one row of tiles is generated at once


def _band(top: int, rows: int, side: int, rng: np.random.Generator) -> np.ndarray:
    y = np.arange(top, top + rows)[:, None]
    x = np.arange(side)[None, :]
    centre = side / 2
    on_wafer = (y - centre) ** 2 + (x - centre) ** 2 < (0.48 * side) ** 2
    street = ((y % DIE) < STREET) | ((x % DIE) < STREET)
    pattern = ((y // 32 + x // 32) % 2) * 900  # circuitry-like texture inside each die
    values = np.where(on_wafer, np.where(street, 21000, 30000 + pattern), 4000).astype(np.float32)
    values += rng.normal(0, 250, values.shape).astype(np.float32)  # sensor noise
    return np.clip(values, 0, 65535).astype(np.uint16)


def write_wafer_demo(target: Path, side: int = 8192, defects: int = 5, seed: int = 0) -> Path:
    """Write `target`/wafer.tif (side x side, uint16) and `target`/ground_truth/wafer_mask.png; returns `target`."""
    rng = np.random.default_rng(seed)
    target = Path(target)
    (target / "ground_truth").mkdir(parents=True, exist_ok=True)
    mask = np.zeros((side, side), np.uint8)
    for _ in range(defects):  # particles and scratches, well inside the wafer
        angle = rng.uniform(0, 2 * np.pi)
        radius = rng.uniform(0.05, 0.35) * side
        cx, cy = int(side / 2 + radius * np.cos(angle)), int(side / 2 + radius * np.sin(angle))
        if rng.random() < 0.5:
            cv2.circle(mask, (cx, cy), int(rng.integers(side // 400 + 2, side // 150 + 4)), 1, -1)
        else:
            dx, dy = (int(v) for v in rng.integers(-side // 25, side // 25, 2))
            cv2.line(mask, (cx, cy), (cx + dx, cy + dy), 1, thickness=max(2, side // 1500))
    path = target / "wafer.tif"
    with tifffile.TiffWriter(path, bigtiff=side * side * 2 > 2**31) as tif:

        def tiles():  # row-major, each TILE x TILE (zero-padded at the right and bottom edges)
            for top in range(0, side, TILE):
                rows = min(TILE, side - top)
                band = np.zeros((TILE, -(-side // TILE) * TILE), np.uint16)
                band[:rows, :side] = _band(top, rows, side, rng)
                band[:rows, :side][mask[top : top + rows] > 0] = (
                    9000  # particles and scratches are dark in bright-field light
                )
                for left in range(0, band.shape[1], TILE):
                    yield np.ascontiguousarray(band[:, left : left + TILE])

        tif.write(tiles(), shape=(side, side), dtype=np.uint16, tile=(TILE, TILE), compression=None)
    cv2.imwrite(str(target / "ground_truth" / "wafer_mask.png"), mask * 255)
    return target
