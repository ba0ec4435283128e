"""Inference throughput and peak memory, end to end: files on disk -> heatmaps.

One line per configuration. Each configuration runs in a fresh process so
its peak memory is its own. Weights are random when the real ones are absent
(`--pretrained random`): speed does not depend on the weights' values.

    python bench/inference.py --model-name ViT-L-14-336 --image-size 518 --batch-size 1 2 --device cpu
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
        cfg["method"], model_name=cfg["model_name"], pretrained=cfg["pretrained"], image_size=cfg["image_size"],
        device=cfg["device"], batch_size=cfg["batch_size"],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    for size in args.image_size:
        for batch in args.batch_size:
            cfg = {
                "method": args.method, "model_name": args.model_name, "pretrained": args.pretrained, "image_size": size,
                "batch_size": batch, "device": args.device, "images": args.images, "threads": args.threads,
                "folder": str(args.folder),
            }
            done = subprocess.run([sys.executable, __file__, "--one", json.dumps(cfg)], capture_output=True, text=True)
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
