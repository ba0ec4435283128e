"""Images and ground-truth masks of the shared sample folders (hazelnut, glass)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from zsad_desktop.imaging import read_rgb8

SIDE = 256  # images are shrunk once so each test stays well under 30 s on 2 cores


def _small(image: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((SIDE, SIDE), Image.Resampling.BILINEAR))


def category(root: Path) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """(good images, defective images, their masks), sorted by path, train goods first."""
    goods = sorted((root / "train" / "good").glob("*.png")) + sorted((root / "test" / "good").glob("*.png"))
    bad = sorted(p for p in (root / "test").glob("*/*.png") if p.parent.name != "good")
    masks = []
    for p in bad:
        mask = np.asarray(
            Image.open(root / "ground_truth" / p.parent.name / f"{p.stem}_mask.png").convert("L")
        )
        masks.append(np.asarray(Image.fromarray(mask).resize((SIDE, SIDE), Image.Resampling.NEAREST)) > 127)
    return [_small(read_rgb8(p)) for p in goods], [_small(read_rgb8(p)) for p in bad], masks
