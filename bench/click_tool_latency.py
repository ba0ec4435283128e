"""Latency of the click tool from click to mask, through the viewer's click session (no window):
the neighbourhood read from the image on screen, the correction on the worker, the edit applied.

    .venv/bin/python bench/click_tool_latency.py [--clicks 10]

Prints the median and worst milliseconds per click on a 1024 px image and around a click on a
20,000 px image (a generated textured image with a bright blob; the heatmap kept reduced on
the large one, as the window keeps it). The correction itself is `click_correction`'s;
bench/click_correction.py measures how many clicks it takes.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zsad_desktop.app.viewer.viewer_model import ViewerModel  # noqa: E402
from zsad_desktop.detection.interface import NormalisationStats  # noqa: E402


def _scene(side: int, heat_side: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    image = np.zeros((side, side), np.uint8)  # untouched pages of a large image cost nothing
    p = min(2048, side)  # the textured part around the centre
    y0 = side // 2 - p // 2
    window = image[y0 : y0 + p, y0 : y0 + p]
    window[...] = rng.integers(60, 100, (p, p), dtype=np.uint8)
    yy, xx = np.mgrid[-p // 2 : p - p // 2, -p // 2 : p - p // 2]
    window[(yy / 60.0) ** 2 + (xx / 90.0) ** 2 < 1] = 200
    heat = np.zeros((heat_side, heat_side), np.float32)
    h = heat_side // 2
    heat[h - 2 : h + 2, h - 3 : h + 3] = 0.8
    return image, heat


def measure(side: int, heat_side: int, clicks: int) -> list[float]:
    rng = np.random.default_rng(0)
    image, heat = _scene(side, heat_side, rng)
    model = ViewerModel()
    model.show(image, heat, NormalisationStats(0.0, 1.0))
    model.proposals.settle(120)
    centre = side // 2
    times = []
    for i in range(clicks):
        x, y = centre + int(rng.integers(-80, 80)), centre + int(rng.integers(-50, 50))
        start = time.perf_counter()
        model.clicks.click(x, y, positive=bool(i % 3 != 2))
        model.clicks.settle(60)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clicks", type=int, default=10)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}")
    for label, side, heat_side in (("1024 px", 1024, 1024), ("20,000 px", 20_000, 2_000)):
        times = measure(side, heat_side, args.clicks)
        print(f"{label:>10}: median {np.median(times):6.1f} ms, worst {max(times):6.1f} ms per click")


if __name__ == "__main__":
    main()
