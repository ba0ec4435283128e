"""Cost of the folder methods: `musc` end to end, its mutual scoring, the normal memory.

1. `musc` end to end with a tiny random-weight backbone (8 x 8 grid at 112 px) on
   synthetic images, folders of `--sizes` images in subsets of `--subset` (their
   divide_num): per-image cost is bounded by the subset size.
2. Mutual scoring at ViT-L-14-336 shape (37 x 37 patches, 1,024 dims, 4 layers x
   3 degrees) on `--images` synthetic images: seconds per ordered image pair, all
   layers and degrees, in exact mode (one Gram matrix per pair and layer serves
   every degree and both directions) and approximate mode, beside LNAMD then one
   product per degree (the former way), timed interleaved on the same tokens, with
   the largest difference of their maps; the cost of a 200-image subset; how long
   a cancel takes to return; on a device with native bfloat16, the same in
   bfloat16 and its agreement.
3. The normal memory's lookup (ViT-L shape, random projection to 256 dims) for
   memories of `--normals` images, capped by the coreset budget.
4. `memory_overhead_ratio`: seconds per image of baseline + normal memory over
   the baseline alone, through app/prediction/normal_memory.py (tiny backbone).

    python bench/folder_methods.py [--device cpu|cuda] [--json OUT] [--sizes 100 1000] [--images 6] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from zsad_desktop.app.prediction.normal_memory import MemoryDetector, add_normals, musc_extractor
from zsad_desktop.detection.execution import cpu_supports_bf16
from zsad_desktop.detection.interface import create_detector
from zsad_desktop.detection.methods.musc.gram_distances import as_patches, degree_distances, layer_normed
from zsad_desktop.detection.methods.musc.pair_distances import folder_distances
from zsad_desktop.detection.methods.musc.scoring import DEGREES, interval_mean, lnamd, mutual_scores
from zsad_desktop.detection.normal_memory import NormalMemory

VITL_GRID, VITL_DIM, VITL_LAYERS = 37, 1024, 4
VITL_PATCHES = VITL_GRID * VITL_GRID
TINY = "ZSAD-Tiny-ViT-14"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


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
        "musc", model_name=TINY, pretrained="random", image_size=112, device="cpu", subset_size=subset
    )
    print(f"\n1. musc, tiny random ViT at 112 px (8x8 grid), subsets of {subset}")
    print(f"{'images':>8} {'s/image':>9} {'total s':>9} {'peak RSS MB':>12}")
    for n in sizes:
        start = time.perf_counter()
        detections = musc.score_folder(SyntheticFolder(n))
        took = time.perf_counter() - start
        assert len(detections) == n
        print(f"{n:>8} {took / n:>9.4f} {took:>9.1f} {peak_rss_mb():>12.0f}")


def _timed(fn, device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - start, time.process_time() - cpu


def _vitl_tokens(images: int, device: torch.device) -> list[torch.Tensor]:
    """4 layers' tokens (with a class token) of images alike as a folder's: a shared pattern plus noise."""
    gen = torch.Generator().manual_seed(0)
    out = []
    for _ in range(VITL_LAYERS):
        base = torch.randn(1, 1 + VITL_PATCHES, VITL_DIM, generator=gen)
        out.append((base + torch.randn(images, 1 + VITL_PATCHES, VITL_DIM, generator=gen)).to(device))
    return out


def _maps(per_layer) -> torch.Tensor:
    """(degrees, N, P) scores of each layer -> (N, P) maps: the mean over layers, then degrees."""
    return torch.stack([s.double() for s in per_layer]).mean(0).mean(0).float().cpu()


def _per_degree(tokens: list[torch.Tensor], images: int) -> torch.Tensor:
    """The former way: LNAMD per degree, then one product per pair and degree."""
    grid = (VITL_GRID, VITL_GRID)
    return _maps(
        [
            torch.stack(
                [
                    interval_mean(folder_distances(lnamd([layer], grid, r)[:, :, 0]), 0.3, images - 1)
                    for r in DEGREES
                ]
            )
            for layer in tokens
        ]
    )


def bench_mutual_scoring(images: int, device: torch.device, repeats: int) -> dict:
    """Seconds per ordered pair for 4 layers x 3 degrees, each way run on the same tokens."""
    tokens = _vitl_tokens(images, device)
    grid = (VITL_GRID, VITL_GRID)
    pairs = images * (images - 1)

    def scored(**options) -> torch.Tensor:
        return _maps([mutual_scores(layer, grid, DEGREES, **options) for layer in tokens])

    ways = {
        "exact": lambda: scored(),
        "per_degree": lambda: _per_degree(tokens, images),
        "approximate": lambda: scored(approximate=True),
    }
    native_bf16 = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_supports_bf16()
    if native_bf16:
        ways["bfloat16"] = lambda: scored(dtype=torch.bfloat16)
    print(
        f"\n2. mutual scoring at ViT-L-14-336 shape ({VITL_PATCHES} patches x {VITL_DIM}, "
        f"{VITL_LAYERS} layers x degrees {DEGREES}), {images} images ({pairs} ordered pairs) on {device}, "
        f"best of {repeats}, the ways interleaved"
    )
    out, maps = {}, {}
    best = dict.fromkeys(ways, float("inf"))
    best_cpu = dict.fromkeys(ways, float("inf"))
    for _ in range(repeats):  # interleaved, so a change in the machine's load hits every way alike
        for name, fn in ways.items():
            maps[name], took, cpu = _timed(fn, device)
            best[name], best_cpu[name] = min(best[name], took), min(best_cpu[name], cpu)
    threads = torch.get_num_threads()
    print(f"   {'':<12} {'wall s':>8} {'CPU s / ' + str(threads) + ' threads':>20}  per ordered pair")
    for name in ways:
        out[name] = best[name] / pairs
        out[f"cpu_per_thread_{name}"] = best_cpu[name] / threads / pairs
        print(
            f"   {name:<12} {out[name]:8.3f} {out[f'cpu_per_thread_{name}']:20.3f}  "
            f"(200-image subset: {out[name] * 200 * 199 / 3600:6.2f} h wall)"
        )
    diff = (maps["exact"] - maps["per_degree"]).abs().max().item()
    print(
        f"   exact vs the former way: maps differ by at most {diff:.2e} (of {maps['exact'].max():.3f}); "
        f"{out['cpu_per_thread_per_degree'] / out['cpu_per_thread_exact']:.2f}x faster by CPU time, "
        f"{out['per_degree'] / out['exact']:.2f}x by wall time"
    )
    out["exact_vs_per_degree_max_difference"] = diff
    a, b = maps["approximate"].flatten(), maps["exact"].flatten()
    out["approximate_pearson"] = torch.corrcoef(torch.stack([a, b]))[0, 1].item()
    print(f"   approximate vs exact: maps' Pearson {out['approximate_pearson']:.5f}")
    if "bfloat16" in maps:
        a = maps["bfloat16"].flatten()
        out["bfloat16_max_difference"] = (a - b).abs().max().item()
        out["bfloat16_pearson"] = torch.corrcoef(torch.stack([a, b]))[0, 1].item()
        print(
            f"   bfloat16 vs float32: max difference {out['bfloat16_max_difference']:.2e}, Pearson {out['bfloat16_pearson']:.5f}"
        )
    else:
        print("   bfloat16: not native here (no avx512_bf16/AMX, or no such GPU): not timed")
    deadline = []

    def cancel() -> bool:
        if not deadline:
            deadline.append(time.perf_counter() + 0.5)
        return time.perf_counter() >= deadline[0]

    x = as_patches(layer_normed(tokens[0], grid))
    try:  # polls before every block (one image pair at ViT-L shape)
        degree_distances(x, grid, DEGREES, cancel=cancel)
        latency = 0.0
    except InterruptedError:
        latency = time.perf_counter() - deadline[0]
    print(f"   a cancel returned {latency:.3f} s after it was asked for")
    out["cancel_latency_seconds"] = latency
    return out


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


def bench_memory_overhead(
    model_name: str, image_size: int, images: int, device: str, repeats: int = 3
) -> float:
    """Seconds per image of baseline + normal memory over the baseline alone, as the code does it:
    the two runs interleaved on the same images, `repeats` times, the median ratio of CPU times."""
    baseline = create_detector(
        "baseline", model_name=model_name, pretrained="random", image_size=image_size, device=device
    )
    extractor = musc_extractor(baseline)
    folder = SyntheticFolder(images + 4, side=image_size)
    memory = NormalMemory()
    add_normals(memory, [(str(i), folder[i], None) for i in range(4)], baseline, extractor)
    with_memory = MemoryDetector(baseline, memory, extractor)
    batch = [folder[4 + i] for i in range(images)]
    baseline.predict(batch[:1]), with_memory.predict(batch[:1])  # warm both paths
    alone, fused = [], []
    for _ in range(repeats):
        alone.append(_timed(lambda: baseline.predict(batch), baseline.device)[2])
        fused.append(_timed(lambda: with_memory.predict(batch), baseline.device)[2])
    ratios = sorted(f / a for a, f in zip(alone, fused))
    ratio = ratios[len(ratios) // 2]
    print(
        f"\n4. baseline + normal memory, {model_name} at {image_size} px on {baseline.device}, "
        f"{'one pass' if with_memory.one_pass else 'two passes'}: {statistics.median(fused) / images:.3f} "
        f"CPU s/image against {statistics.median(alone) / images:.3f} alone: {ratio:.2f}x "
        f"(median of {repeats} interleaved runs; {ratios[0]:.2f}-{ratios[-1]:.2f})"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--device", default="cpu", help="cpu or cuda (the mutual scoring and memory overhead)"
    )
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[100, 1000], help="part 1's folder sizes (none: skip)"
    )
    parser.add_argument("--subset", type=int, default=200)
    parser.add_argument("--images", type=int, default=6, help="part 2's images at ViT-L shape")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--normals", type=int, nargs="*", default=[10, 100], help="part 3's memory sizes (none: skip)"
    )
    parser.add_argument("--budget", type=int, default=20_000)
    parser.add_argument("--projection-dim", type=int, default=256)
    parser.add_argument("--overhead-model", default=TINY, help="part 4's backbone (random weights)")
    parser.add_argument("--overhead-size", type=int, default=224)
    parser.add_argument(
        "--threads",
        type=int,
        help="torch's CPU threads (1: the work itself, which other load on the machine cannot inflate "
        "with threads waiting for each other; default: torch's own count)",
    )
    parser.add_argument("--overhead-images", type=int, default=4, help="part 4's images per run")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no GPU is visible to torch here")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    print(
        f"torch {torch.__version__}, {machine}, {torch.get_num_threads()} CPU threads, load average {load:.1f}"
    )
    if args.sizes:
        bench_musc_tiny(args.sizes, args.subset)
    scoring = bench_mutual_scoring(args.images, device, args.repeats)
    if args.normals:
        bench_memory(args.normals, args.budget, args.projection_dim)
    ratio = bench_memory_overhead(args.overhead_model, args.overhead_size, args.overhead_images, args.device)
    if args.json:
        figures = {
            "machine": machine,
            "device": str(device),
            "threads": torch.get_num_threads(),
            "load_average": load,
            "seconds_per_pair_exact": scoring["exact"],
            "seconds_per_pair_approximate": scoring["approximate"],
            "seconds_per_pair_per_degree": scoring["per_degree"],
            "seconds_per_pair_bfloat16": scoring.get("bfloat16"),
            "subset_200_hours_exact": scoring["exact"] * 200 * 199 / 3600,
            "subset_200_hours_approximate": scoring["approximate"] * 200 * 199 / 3600,
            "memory_overhead_ratio": ratio,
            **{
                k: v
                for k, v in scoring.items()
                if k not in ("exact", "approximate", "per_degree", "bfloat16")
            },
        }
        args.json.write_text(json.dumps(figures, indent=1))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
