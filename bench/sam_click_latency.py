"""Time of a click with the optional SAM click model: the first click on an image (image encoder,
prompt encoder, mask decoder) and the later ones (the embedding kept: prompts and decoder only).

Without `--checkpoint` the model has the released architecture with random weights: the masks mean
nothing, the times are those of the real model. The image is a 1024 px crop as the click tool hands
SAM on any image (the whole image up to 1024 px a side, a grid tile of a larger one).

    python bench/sam_click_latency.py [--variant vit_b|vit_l|vit_h] [--checkpoint PATH] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from click_correction import machine_line  # noqa: E402

from zsad_desktop.app.viewer.click_correction import Click  # noqa: E402
from zsad_desktop.app.viewer.click_models import keep_to_clicked_regions  # noqa: E402
from zsad_desktop.detection.device import select_device  # noqa: E402
from zsad_desktop.detection.sam_click_model import VARIANTS, SamClicks, build_sam, load_sam  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="vit_b")
    parser.add_argument("--checkpoint", default="", help="released weights (default: random weights)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--side", type=int, default=1024, help="the crop's side in pixels")
    parser.add_argument("--clicks", type=int, default=5)
    args = parser.parse_args()
    device = str(select_device(args.device))
    if args.checkpoint:
        sam = load_sam(args.checkpoint, device=device)
        what = args.checkpoint
    else:
        torch.manual_seed(0)
        sam = SamClicks(build_sam(VARIANTS[args.variant]).to(device))
        what = f"{args.variant}, random weights"
    print(f"machine: {machine_line()}; torch threads {torch.get_num_threads()}; device {device}; SAM {what}")
    rng = np.random.default_rng(0)
    side = args.side
    image = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    mask = np.zeros((side, side), bool)
    mask[side // 4 : side // 2, side // 4 : side // 2] = True
    clicks: list[Click] = []
    times = []
    for i in range(args.clicks):
        clicks.append(Click(int(rng.integers(side)), int(rng.integers(side)), bool(i % 2 == 0)))
        start = time.perf_counter()
        points = np.array([(c.x, c.y) for c in clicks], np.float64)
        made = sam.segment(image, mask, points, np.array([c.positive for c in clicks]))
        mask = keep_to_clicked_regions(mask, made, clicks)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    later = f"{np.median(times[1:]):.0f} ms median" if len(times) > 1 else "none"
    print(f"{side} px crop: first click {times[0]:.0f} ms (image encoder + decoder); later clicks {later}")


if __name__ == "__main__":
    main()
