"""AA-CLIP training: seconds per step and peak memory, per stage.

One line per configuration (stage x precision), each in a fresh process so
its peak memory is its own. A step is the trainer's own loss, backward pass
and optimiser step on one batch of random images and masks (image decoding
and augmentation are left out: they run in loader workers on a GPU). Weights
may be random (`--pretrained random`): speed does not depend on their values.

    python bench/train.py --device cpu --pretrained random --steps 2
    python bench/train.py --device cuda --precision fp32 bf16 --text-batch-size 16
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

STAGES = {"text": "text anchors", "image": "patch alignment"}


def run_one(cfg: dict) -> dict:
    import torch

    from zsad_desktop.detection.backbone import BackboneSpec
    from zsad_desktop.detection.methods.aaclip.trainer import AACLIPTraining, train_step
    from zsad_desktop.detection.training import TrainingContext
    from zsad_desktop.detection.training_data import TrainingSample

    if cfg["threads"]:
        torch.set_num_threads(cfg["threads"])
    spec = BackboneSpec(cfg["model_name"], cfg["pretrained"], cfg["image_size"])
    config = {
        "precision": cfg["precision"],
        "text_batch_size": cfg["batch_size"],
        "image_batch_size": cfg["batch_size"],
    }
    with tempfile.TemporaryDirectory() as work:
        context = TrainingContext(
            spec,
            [TrainingSample(Path("unused.png"), None, 0, "bench")],
            Path(work),
            config,
            cfg["device"],
            lambda p: None,
            threading.Event(),
        )
        training = AACLIPTraining(context)
    device = training.device
    b, size = cfg["batch_size"], cfg["image_size"]
    generator = torch.Generator().manual_seed(0)
    pixels = torch.randn(b, 3, size, size, generator=generator).to(device)
    masks = (torch.rand(b, size, size, generator=generator) > 0.9).float().to(device)
    labels = torch.tensor([i % 2 for i in range(b)], device=device)
    info = {"category": ["hazelnut"] * b, "mask_known": torch.ones(b, dtype=torch.bool)}
    if cfg["stage"] == "text":
        loss_of, optimiser, scheduler = training.text_loss, training.text_optimiser(), None
    else:
        loss_of, (optimiser, scheduler) = training.image_loss, training.image_optimiser()

    def step() -> float:
        return train_step(
            loss_of, (pixels, masks, labels, info), optimiser, scheduler
        )  # .item() waits for the device

    for _ in range(cfg["warmup"]):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(cfg["steps"]):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return {
        "seconds_per_step": sum(times) / len(times),
        "fastest_step": min(times),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else 0.0,
        "device": str(device),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-name", default="ViT-L-14-336")
    parser.add_argument(
        "--pretrained", default="openai", help="an open_clip tag, a weights file, or 'random'"
    )
    parser.add_argument("--image-size", type=int, default=518)
    parser.add_argument("--batch-size", type=int, default=2, help="images per step (stage 2's default)")
    parser.add_argument(
        "--text-batch-size",
        type=int,
        default=None,
        help="stage 1's batch (default: --batch-size; the paper's is 16)",
    )
    parser.add_argument("--stages", nargs="+", choices=sorted(STAGES), default=["text", "image"])
    parser.add_argument("--precision", nargs="+", choices=["fp32", "bf16"], default=["fp32"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    for stage in args.stages:
        batch = (args.text_batch_size or args.batch_size) if stage == "text" else args.batch_size
        for precision in args.precision:
            cfg = {
                "model_name": args.model_name,
                "pretrained": args.pretrained,
                "image_size": args.image_size,
                "batch_size": batch,
                "stage": stage,
                "precision": precision,
                "device": args.device,
                "steps": args.steps,
                "warmup": args.warmup,
                "threads": args.threads,
            }
            label = f"aaclip train stage={STAGES[stage]!r} {args.model_name}:{args.pretrained} size={args.image_size} batch={batch} {precision}"
            done = subprocess.run(
                [sys.executable, __file__, "--one", json.dumps(cfg)], capture_output=True, text=True
            )
            if done.returncode != 0:
                print(f"{label}: failed\n{done.stderr[-2000:]}", flush=True)
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"{label} device={r['device']} threads={r['threads']}: {r['seconds_per_step']:.2f} s/step "
                f"(fastest {r['fastest_step']:.2f} s, {args.steps} steps after {args.warmup} warm-up), "
                f"peak RSS {r['peak_rss_mib']:.0f} MiB, peak GPU {r['peak_gpu_mib']:.0f} MiB",
                flush=True,
            )


if __name__ == "__main__":
    main()
