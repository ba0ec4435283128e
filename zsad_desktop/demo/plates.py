"""Generated demo data: brushed-metal plates, some with scratches or stains.

The application ships no third-party images; this makes a small folder in the
MVTec AD layout (test/good, test/<defect>, ground_truth/<defect>) that the
window, the command line and the README screenshots can use anywhere.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

DEFECTS = ("scratch", "stain")


def _plate(rng: np.random.Generator, size: int) -> np.ndarray:
    grain: np.ndarray = rng.normal(0, 1, (size, size)).astype(np.float32)
    grain = cv2.GaussianBlur(grain, (0, 0), sigmaX=8, sigmaY=0.6)  # brushed along x
    shade = (
        np.linspace(0.9, 1.1, size, dtype=np.float32)[None, :]
        * np.linspace(1.05, 0.95, size, dtype=np.float32)[:, None]
    )
    grey = np.clip((150 + 18 * grain / grain.std()) * shade, 0, 255)
    tint = np.array([1.0, 1.02, 1.06], np.float32)
    return np.clip(grey[..., None] * tint, 0, 255).astype(np.uint8)


def _defect(rng: np.random.Generator, image: np.ndarray, kind: str) -> np.ndarray:
    size = image.shape[0]
    mask = np.zeros(image.shape[:2], np.uint8)
    if kind == "scratch":
        p0 = rng.integers(size // 5, 4 * size // 5, 2)
        p1 = np.clip(p0 + rng.integers(-size // 3, size // 3, 2), 5, size - 5)
        cv2.line(
            mask, tuple(int(v) for v in p0), tuple(int(v) for v in p1), 255, thickness=int(rng.integers(2, 5))
        )
        colour = (40, 40, 45)
    else:
        centre = tuple(int(v) for v in rng.integers(size // 5, 4 * size // 5, 2))
        axes = tuple(int(v) for v in rng.integers(size // 20, size // 9, 2))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
        colour = (120, 80, 40)
    soft = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 1.0)[..., None]
    out = image.astype(np.float32) * (1 - 0.8 * soft) + np.array(colour, np.float32) * 0.8 * soft
    image[:] = np.clip(out, 0, 255).astype(np.uint8)
    return mask


def write_demo_folder(
    target: Path, normal: int = 6, per_defect: int = 4, size: int = 256, seed: int = 0
) -> Path:
    """Write the demo images and masks under `target` (created); returns it."""
    rng = np.random.default_rng(seed)
    target = Path(target)
    for index in range(normal):
        _write(target / "test" / "good" / f"{index:03d}.png", _plate(rng, size))
    for kind in DEFECTS:
        for index in range(per_defect):
            image = _plate(rng, size)
            mask = _defect(rng, image, kind)
            _write(target / "test" / kind / f"{index:03d}.png", image)
            _write(target / "ground_truth" / kind / f"{index:03d}_mask.png", mask, colour=False)
    return target


def _write(path: Path, pixels: np.ndarray, colour: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if colour else pixels)
