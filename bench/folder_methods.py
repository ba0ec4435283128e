"""Cost of the folder methods against folder size: `musc` and the normal-memory lookup.

Three parts, each printing seconds per image and memory:
1. `musc` end to end with a tiny random-weight backbone (8 x 8 grid at 112 px) on
   synthetic images, folders of 100 / 1,000 / 10,000 images in subsets of
   `--subset` (their divide_num): per-image cost is bounded by the subset size.
2. MuSc's mutual scoring at ViT-L-14-336 shape (37 x 37 patches, 1,024 dims,
   4 layers x 3 degrees) on synthetic features: one query image against R
   reference images, measured for small R; the cost is linear in R, so the
   cost per image of a folder is that of min(folder, subset) - 1 references.
3. The normal memory's lookup (ViT-L shape, random projection to 256 dims) for
   memories of 10 / 100 / 1,000 normals, capped by the coreset budget, and the
   coreset build time.

    python bench/folder_methods.py [--sizes 100 1000 10000] [--subset 200]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F

from zsad_desktop.detection.interface import create_detector
from zsad_desktop.detection.methods.musc.scoring import mutual_scores
from zsad_desktop.detection.normal_memory import NormalMemory

VITL_PATCHES, VITL_DIM, LAYERS_X_DEGREES = 37 * 37, 1024, 12


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class SyntheticFolder:
    """A lazy folder: image i is decoded (generated) only when indexed, as a folder on disk would be."""

    def __init__(self, n: int, side: int = 112):
        self.n, self.side = n, side

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> np.ndarray:
        rng = np.random.default_rng(i)
        base = np.full((self.side, self.side, 3), 128, np.uint8)
        base += rng.integers(0, 20, base.shape, dtype=np.uint8)  # texture shared by all images
        if i % 10 == 0:
            base[40:60, 40:60] = 255  # a defect in one image out of ten
        return base


def bench_musc_tiny(sizes: list[int], subset: int) -> None:
    musc = create_detector(
        "musc",
        model_name="ZSAD-Tiny-ViT-14",
        pretrained="random",
        image_size=112,
        device="cpu",
        subset_size=subset,
    )
    print(f"\n1. musc, tiny random ViT at 112 px (8x8 grid), subsets of {subset}")
    print(f"{'images':>8} {'s/image':>9} {'total s':>9} {'peak RSS MB':>12}")
    for n in sizes:
        start = time.perf_counter()
        detections = musc.score_folder(SyntheticFolder(n))
        took = time.perf_counter() - start
        assert len(detections) == n
        print(f"{n:>8} {took / n:>9.4f} {took:>9.1f} {peak_rss_mb():>12.0f}")


def bench_msm_vitl(refs: list[int], threads: int) -> float:
    print(
        f"\n2. mutual scoring at ViT-L-14-336 shape ({VITL_PATCHES} patches x {VITL_DIM}), one image, one layer and degree"
    )
    print(f"{'refs':>6} {'s':>8} {'s/ref':>8}")
    per_ref = []
    for r in refs:
        z = F.normalize(torch.randn(r + 1, VITL_PATCHES, VITL_DIM), dim=-1)
        start = time.perf_counter()
        mutual_scores(z[:1], z[1:])
        took = time.perf_counter() - start
        per_ref.append(took / r)
        print(f"{r:>6} {took:>8.2f} {took / r:>8.4f}")
    cost = float(np.median(per_ref)) * LAYERS_X_DEGREES
    print(f"=> per image and reference image, 4 layers x 3 degrees: {cost:.3f} s on {threads} CPU threads")
    for folder in (100, 1000, 10000):
        print(
            f"   folder {folder:>6}: subset {min(folder, 200)} -> {cost * (min(folder, 200) - 1):8.0f} s/image; "
            f"reference sample 16 -> {cost * 16:6.1f} s/image"
        )
    return cost


def bench_memory(normals: list[int], budget: int, projection_dim: int) -> None:
    print(
        f"\n3. normal memory lookup, ViT-L shape projected to {projection_dim} dims, coreset budget {budget} patches"
    )
    print(
        f"{'normals':>8} {'patches':>9} {'bank':>8} {'build s':>8} {'lookup s/image':>15} {'bank MB':>8} {'peak RSS MB':>12}"
    )
    query = torch.randn(VITL_PATCHES, VITL_DIM)
    for n in normals:
        memory = NormalMemory(budget=budget, projection_dim=projection_dim)
        for i in range(n):
            memory.add(str(i), torch.randn(VITL_PATCHES, VITL_DIM))
        start = time.perf_counter()
        bank = memory.bank()
        build = time.perf_counter() - start
        start = time.perf_counter()
        memory.distances(query)
        lookup = time.perf_counter() - start
        print(
            f"{n:>8} {memory.patch_count:>9} {bank.shape[0]:>8} {build:>8.1f} {lookup:>15.3f} "
            f"{bank.numel() * 4 / 2**20:>8.0f} {peak_rss_mb():>12.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--subset", type=int, default=200)
    parser.add_argument("--refs", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--normals", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--budget", type=int, default=20_000)
    parser.add_argument("--projection-dim", type=int, default=256)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    bench_musc_tiny(args.sizes, args.subset)
    bench_msm_vitl(args.refs, torch.get_num_threads())
    bench_memory(args.normals, args.budget, args.projection_dim)


if __name__ == "__main__":
    main()
