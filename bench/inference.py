"""Inference throughput and peak memory, end to end: files on disk -> heatmaps.

One line per configuration. Each configuration runs in a fresh process so
its peak memory is its own. Weights are random when the real ones are absent
(`--pretrained random`): speed does not depend on the weights' values.

    python bench/inference.py --model-name ViT-L-14-336 --image-size 518 --batch-size 1 2 --device cpu

Engines and precision, in one process (a method whose checkpoint does not fit the backbone is skipped):

    python bench/inference.py --compare --images 2            # exact float32 vs the default, per method
    python bench/inference.py --agreement --image-size 336    # float32 vs bfloat16 maps on the real images
    python bench/inference.py --device cuda --cuda-report     # images/s, share of bf16 peak, memory, largest batch
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_FOLDER = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mvtec_ad" / "hazelnut"


def run_one(cfg: dict) -> dict:
    import torch

    from zsad_desktop.app.prediction.folder_prediction import detect_files, image_files
    from zsad_desktop.detection.interface import create_detector

    torch.set_num_threads(cfg["threads"]) if cfg["threads"] else None
    detector = create_detector(
        cfg["method"],
        model_name=cfg["model_name"],
        pretrained=cfg["pretrained"],
        image_size=cfg["image_size"],
        device=cfg["device"],
        batch_size=cfg["batch_size"],
    )
    paths = image_files(Path(cfg["folder"]))[: cfg["images"]]
    warm = paths[: cfg["batch_size"]]
    list(detect_files(detector, warm, cfg["batch_size"]))  # first call builds caches and text anchors
    if detector.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    count = sum(1 for _ in detect_files(detector, paths, cfg["batch_size"]))
    if detector.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak_gpu = torch.cuda.max_memory_allocated() / 2**20 if detector.device.type == "cuda" else 0.0
    return {
        "images": count,
        "seconds": seconds,
        "images_per_s": count / seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_gpu_mib": peak_gpu,
        "device": str(detector.device),
    }


# --- engines and precision: one process, detectors sharing one backbone ----------------------------------

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
AGREEMENT_FOLDERS = (
    "mvtec_ad/hazelnut",
    "mvtec_ad/transistor",
    "glass_anomaly/glass",
    "kvasir_seg/polyp",
    "headct/head_ct",
)
BF16_PEAK_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10": 125.0,
    "4090": 165.0,
}


def build_detector(method: str, args, engine: str, precision: str, device: str | None = None):
    """A detector of `method` on the shared backbone; Crane with the released prompts (random ones if
    absent), AA-CLIP with fixed-seed random adapters (speed and agreement do not depend on their values)."""
    import torch

    from zsad_desktop.detection.interface import create_detector

    common = dict(
        model_name=args.model_name,
        pretrained=args.pretrained,
        image_size=args.image_size[0],
        device=device or args.device,
        batch_size=1,
        engine=engine,
        precision=precision,
    )
    if method == "crane":
        released = SHARED / "checkpoints" / "crane" / "trained_on_mvtec_crane" / "epoch_5.pth"
        if released.is_file():
            return create_detector("crane", checkpoint=str(released), variant="crane", **common)
        from zsad_desktop.detection.backbone import BackboneSpec, shared_backbone
        from zsad_desktop.detection.device import select_device
        from zsad_desktop.detection.methods.crane.prompt_learner import CranePromptLearner

        torch.manual_seed(0)
        backbone = shared_backbone(
            BackboneSpec(args.model_name, args.pretrained, args.image_size[0]),
            select_device(common["device"]),
        )
        return create_detector(
            "crane",
            backbone=backbone,
            trained_prompts=CranePromptLearner(backbone).requires_grad_(False),
            **{k: v for k, v in common.items() if k in ("batch_size", "engine", "precision")},
        )
    if method == "aaclip":
        from zsad_desktop.detection.backbone import BackboneSpec, shared_backbone
        from zsad_desktop.detection.device import select_device
        from zsad_desktop.detection.methods.aaclip.model import AACLIPAdapters, AdapterLayout

        spec = BackboneSpec(args.model_name, args.pretrained, args.image_size[0], quick_gelu=True)
        backbone = shared_backbone(spec, select_device(common["device"]))
        torch.manual_seed(0)
        adapters = (
            AACLIPAdapters.for_backbone(backbone, AdapterLayout.for_backbone(backbone))
            .eval()
            .requires_grad_(False)
        )
        return create_detector(
            "aaclip",
            backbone=backbone,
            adapters=adapters,
            calibration={"map_low": 0.0, "map_high": 1.0},
            **{k: v for k, v in common.items() if k in ("batch_size", "engine", "precision")},
        )
    return create_detector(method, **common)


def detectors_or_skip(
    method: str, args, *settings: tuple[str, str], device: str | None = None
) -> list | None:
    """One detector of `method` per (engine, precision), or None, with a line saying why, when its
    checkpoint does not fit this backbone (Crane's released 768-wide prompts in a narrower model)."""
    from zsad_desktop.detection.interface import DetectorError

    try:
        return [build_detector(method, args, engine, precision, device) for engine, precision in settings]
    except DetectorError as error:
        reason = str(error) if len(str(error)) <= 200 else str(error)[:200] + " ..."
        print(f"{method}: skipped, its checkpoint does not fit {args.model_name}: {reason}", flush=True)
        return None


def read_images(folders: list[Path], count: int) -> list:
    """`count` images taken in turn from each folder's test images (anomalous ones first)."""
    import numpy as np
    from PIL import Image

    per_folder = []
    for folder in folders:
        files = sorted(p for p in folder.rglob("*.png") if "ground_truth" not in p.parts)
        files.sort(key=lambda p: ("good" in p.parts, str(p)))
        per_folder.append(files)
    picked = []
    while len(picked) < count and any(per_folder):
        for files in per_folder:
            if files and len(picked) < count:
                picked.append(np.asarray(Image.open(files.pop(0)).convert("RGB")))
    return picked


class RssPeak:
    """Peak resident memory of this process while a block runs (sampled every 5 ms)."""

    def __init__(self):
        import threading

        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        import os

        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.is_set():
            with open("/proc/self/statm") as statm:
                self.peak = max(self.peak, int(statm.read().split()[1]) * page)
            self._stop.wait(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def compare(args) -> None:
    """Exact float32 engine vs the default (engine fast, --precision), interleaved image by image."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads or 2)
    images = read_images([args.folder], args.images)
    print(
        f"{args.model_name} ({args.pretrained}) at {args.image_size[0]} px, {len(images)} images, batch 1, "
        f"{torch.get_num_threads()} threads, default precision {args.precision}"
    )
    for method in args.methods:
        built = detectors_or_skip(method, args, ("exact", "float32"), ("fast", args.precision))
        if built is None:
            continue
        runs = dict(zip(("exact", "default"), built))
        for detector in runs.values():
            detector.predict(images[:1])  # text features, position embedding
        seconds = {name: [] for name in runs}
        peaks = {name: 0 for name in runs}
        outputs = {name: [] for name in runs}
        for i, image in enumerate(images):
            for name in ("exact", "default") if i % 2 == 0 else ("default", "exact"):
                with RssPeak() as rss:
                    start = time.perf_counter()
                    outputs[name].append(runs[name].predict([image])[0])
                    seconds[name].append(time.perf_counter() - start)
                peaks[name] = max(peaks[name], rss.peak)
        map_diff = max(
            float(np.abs(a.heatmap - b.heatmap).max()) for a, b in zip(outputs["exact"], outputs["default"])
        )
        score_diff = max(abs(a.score - b.score) for a, b in zip(outputs["exact"], outputs["default"]))
        exact, default = (float(np.median(seconds[n])) for n in ("exact", "default"))
        dtype = runs["default"].execution.dtype(runs["default"].device)
        print(
            f"{method}: exact {exact:.2f} s/image, default ({str(dtype).replace('torch.', '')}) {default:.2f} s/image, "
            f"{exact / default:.2f}x; peak RSS exact {peaks['exact'] / 2**30:.2f} GiB, default {peaks['default'] / 2**30:.2f} GiB; "
            f"max |map diff| {map_diff:.2e}, max |score diff| {score_diff:.2e}",
            flush=True,
        )
        del runs


def agreement(args) -> None:
    """float32 vs --precision (bfloat16 unless given) with the fast engine on the shared real images."""
    import numpy as np
    import torch
    from scipy.stats import pearsonr, spearmanr

    torch.set_num_threads(args.threads or 2)
    precision = args.precision if args.precision not in ("auto", "float32") else "bfloat16"
    images = read_images([SHARED / "data" / f for f in AGREEMENT_FOLDERS], args.images)
    print(
        f"{args.model_name} ({args.pretrained}) at {args.image_size[0]} px, {len(images)} real images "
        f"({', '.join(AGREEMENT_FOLDERS)}): float32 vs {precision}"
    )
    for method in args.methods:
        built = detectors_or_skip(method, args, ("fast", "float32"), ("fast", precision))
        if built is None:
            continue
        full, reduced = built
        a, b = full.predict(images), reduced.predict(images)
        diffs = [float(np.abs(x.heatmap - y.heatmap).max()) for x, y in zip(a, b)]
        spans = [float(x.heatmap.max() - x.heatmap.min()) for x in a]
        pearson = [pearsonr(x.heatmap.ravel(), y.heatmap.ravel())[0] for x, y in zip(a, b)]
        rho = spearmanr([x.score for x in a], [y.score for y in b])[0]
        score_range = max(x.score for x in a) - min(x.score for x in a)
        score_diff = max(abs(x.score - y.score) for x, y in zip(a, b))
        hot = [hot_region_iou(x.heatmap, y.heatmap) for x, y in zip(a, b)]
        print(
            f"{method}: max |map diff| {max(diffs):.2e} (median map range {np.median(spans):.2e}, "
            f"worst image {max(d / s for d, s in zip(diffs, spans)):.1%} of its range), "
            f"Pearson per image min {min(pearson):.4f} median {np.median(pearson):.4f}, "
            f"hottest 1% of pixels IoU min {min(hot):.3f} median {np.median(hot):.3f}, "
            f"image-score Spearman {rho:.4f}, max |score diff| {score_diff:.2e} "
            f"({score_diff / max(score_range, 1e-12):.1%} of the scores' range {score_range:.2e})",
            flush=True,
        )


def hot_region_iou(a, b, share: float = 0.01) -> float:
    """IoU of the pixels each map puts in its top `share`: whether a reviewer is shown the same spot."""
    import numpy as np

    top_a, top_b = a >= np.quantile(a, 1 - share), b >= np.quantile(b, 1 - share)
    return float((top_a & top_b).sum() / max((top_a | top_b).sum(), 1))


def flops_per_image(detector) -> float:
    """FLOPs of one image's forward pass as torch's FlopCounterMode counts them (matrix products, attention)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    size = detector.backbone.spec.image_size
    pixels = torch.randn(1, 3, size, size, device=detector.device)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), detector.autocast(), counter:
        detector.score_grid(pixels)
    return float(counter.get_total_flops())


def largest_batch(detector, limit: int = 256) -> int:
    """Doubles the batch until the GPU runs out of memory; the last size that ran."""
    import torch

    size, fits = 1, 0
    while size <= limit:
        try:
            pixels = torch.randn(
                size,
                3,
                detector.backbone.spec.image_size,
                detector.backbone.spec.image_size,
                device=detector.device,
            )
            with torch.inference_mode(), detector.autocast():
                detector.score_grid(pixels)
            torch.cuda.synchronize()
            fits, size = size, size * 2
        except torch.OutOfMemoryError:
            break
        finally:
            pixels = None
            torch.cuda.empty_cache()
    return fits


def cuda_report(args) -> None:
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("--cuda-report needs a CUDA device")
    name = torch.cuda.get_device_name(0)
    peak = args.peak_tflops or next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), 0.0)
    images = read_images([args.folder], args.images)
    print(
        f"{name}: {args.model_name} ({args.pretrained}) at {args.image_size[0]} px, {len(images)} images, "
        f"bf16 dense peak {peak or 'unknown'} TFLOP/s"
    )
    for method in args.methods:
        built = detectors_or_skip(method, args, ("fast", args.precision), device="cuda")
        if built is None:
            continue
        detector = built[0]
        dtype = str(detector.execution.dtype(detector.device)).replace("torch.", "")
        flops = flops_per_image(detector)
        fits = largest_batch(detector)
        for batch in sorted({1, min(8, fits), max(1, fits // 2)}):
            detector.batch_size = batch
            work = (images * (2 * batch // len(images) + 1))[
                : max(len(images), 2 * batch)
            ]  # at least two full batches
            detector.predict(work[:batch])  # warm-up: kernels, text features
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            detector.predict(work)
            torch.cuda.synchronize()
            rate = len(work) / (time.perf_counter() - start)
            share = f"{100 * flops * rate / (peak * 1e12):.1f}% of bf16 peak" if peak else "peak unknown"
            print(
                f"{method} {dtype} batch {batch}: {rate:.2f} images/s, {flops / 1e12:.2f} TFLOP/image, {share}, "
                f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB; largest batch that fits {fits}",
                flush=True,
            )
        del detector
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--method", default="baseline")
    parser.add_argument("--model-name", default="ViT-L-14-336")
    parser.add_argument("--pretrained", default="random")
    parser.add_argument("--image-size", type=int, nargs="+", default=[518])
    parser.add_argument("--batch-size", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--images", type=int, default=8, help="images timed per configuration")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument(
        "--compare", action="store_true", help="exact float32 engine vs the default, interleaved"
    )
    parser.add_argument(
        "--agreement", action="store_true", help="maps and scores of float32 vs --precision on real images"
    )
    parser.add_argument(
        "--cuda-report",
        action="store_true",
        help="GPU figures: images/s, share of peak, memory, largest batch",
    )
    parser.add_argument("--methods", nargs="+", default=["baseline", "crane", "aaclip"])
    parser.add_argument(
        "--precision",
        default="auto",
        help="the default detector's precision (auto, float32, bfloat16, float16)",
    )
    parser.add_argument(
        "--peak-tflops", type=float, default=0.0, help="the device's dense bf16 peak, if not in the table"
    )
    args = parser.parse_args()
    if args.compare or args.agreement or args.cuda_report:
        (cuda_report if args.cuda_report else agreement if args.agreement else compare)(args)
        return
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    for size in args.image_size:
        for batch in args.batch_size:
            cfg = {
                "method": args.method,
                "model_name": args.model_name,
                "pretrained": args.pretrained,
                "image_size": size,
                "batch_size": batch,
                "device": args.device,
                "images": args.images,
                "threads": args.threads,
                "folder": str(args.folder),
            }
            done = subprocess.run(
                [sys.executable, __file__, "--one", json.dumps(cfg)], capture_output=True, text=True
            )
            if done.returncode != 0:
                print(f"{args.model_name} size={size} batch={batch}: failed\n{done.stderr[-2000:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"{args.method} {args.model_name} size={size} batch={batch} device={r['device']}: "
                f"{r['images_per_s']:.3f} img/s ({r['images']} images in {r['seconds']:.1f} s), "
                f"peak RSS {r['peak_rss_mib']:.0f} MiB, peak GPU {r['peak_gpu_mib']:.0f} MiB"
            )


if __name__ == "__main__":
    main()
