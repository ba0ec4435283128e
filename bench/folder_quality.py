"""Quality of the folder methods on the shared sample sets: the README's quality table.

Four detectors on each set with masks and normal images (MVTec AD hazelnut and
transistor, glass): `baseline`, baseline + normals (the normal memory fused
with its map), `musc` (the folder scored by mutual scoring) and musc + normals
(musc's folder map fused with the same memory). Also `musc` in approximate
mode: its maps' Pearson correlation with exact musc, and the change in pixel
AUROC.

The normals are the set's train/good images (glass has none: the first half of
its test/good images, left out of the evaluation). musc scores the whole folder,
normals included, as it would a reviewer's folder; all four are evaluated on the
same test images. Pixel AUROC, AUPRO (FPR up to 0.3) and image AUROC.

With no real weights here, the backbone is a random-weight one (default the tiny
ZSAD-Tiny-ViT-14): figures compare the methods' mechanics, not what they reach
with CLIP's weights.

    python bench/folder_quality.py [--data ../shared/data] [--image-size 224] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from zsad_desktop.app.prediction.normal_memory import (
    MemoryDetector,
    add_normals,
    fused_probability,
    musc_extractor,
)
from zsad_desktop.detection.interface import create_detector
from zsad_desktop.detection.normal_memory import NormalMemory
from zsad_desktop.evaluation.datasets import read_dataset
from zsad_desktop.evaluation.datasets.sample import load_mask
from zsad_desktop.evaluation.metrics import aupro, image_auroc, pixel_auroc
from zsad_desktop.imaging import read_rgb8

SETS = (("mvtec_ad", "hazelnut"), ("mvtec_ad", "transistor"), ("glass_anomaly", "glass"))


def split(root: Path, category: str):
    """(normal images for the memory, test samples to evaluate)."""
    test = read_dataset(root, "mvtec", "test", [category])[category]
    try:
        normals = read_dataset(root, "mvtec", "train", [category])[category]
    except Exception:  # a set without train/good
        normals = []
    if not normals:
        goods = [s for s in test if s.label == 0]
        normals = goods[: len(goods) // 2]
        test = [s for s in test if s not in normals]
    return normals, test


def metrics(samples, images, detections) -> dict[str, float]:
    masks = [load_mask(s, image.shape[:2]) for s, image in zip(samples, images)]
    maps = [d.heatmap for d in detections]
    return {
        "pixel_auroc": pixel_auroc(masks, maps),
        "aupro": aupro(masks, maps),
        "image_auroc": image_auroc([s.label for s in samples], [d.score for d in detections]),
    }


class _Fused:
    def __init__(self, score, heatmap):
        self.score, self.heatmap = score, heatmap


def evaluate_set(root: Path, category: str, model_name: str, image_size: int) -> dict:
    normals, test = split(root, category)
    normal_images = [read_rgb8(s.image_path) for s in normals]
    images = [read_rgb8(s.image_path) for s in test]
    tiny = {"model_name": model_name, "pretrained": "random", "image_size": image_size, "device": "cpu"}
    baseline = create_detector("baseline", **tiny)
    musc = create_detector("musc", backbone=baseline.backbone)
    approximate = create_detector("musc", backbone=baseline.backbone, approximate=True)
    extractor = musc_extractor(baseline)
    ids = [f"normal{i}" for i in range(len(normal_images))]
    out: dict = {"normals": len(normals), "test": len(test), "defective": sum(s.label for s in test)}
    timing = {}

    start = time.perf_counter()
    out["baseline"] = metrics(test, images, baseline.predict(images))
    memory = NormalMemory()
    add_normals(memory, [(i, x, None) for i, x in zip(ids, normal_images)], baseline, extractor)
    with_normals = MemoryDetector(baseline, memory, extractor)
    out["baseline + normals"] = metrics(test, images, with_normals.predict(images))
    timing["baseline"] = time.perf_counter() - start

    folder = normal_images + images  # musc scores the reviewer's whole folder, normals included
    start = time.perf_counter()
    exact = musc.score_folder(folder)
    timing["musc"] = time.perf_counter() - start
    out["musc"] = metrics(test, images, exact[len(normals) :])
    musc_memory = NormalMemory()
    normal_maps = [d.heatmap for d in exact[: len(normals)]]  # musc's own maps of the normals
    add_normals(musc_memory, list(zip(ids, normal_images, normal_maps)), musc, extractor)
    memory_maps = MemoryDetector(musc, musc_memory, extractor).memory_maps(images)
    fused = [
        fused_probability(musc_memory.fuse(d.heatmap, m)) for d, m in zip(exact[len(normals) :], memory_maps)
    ]
    out["musc + normals"] = metrics(test, images, [_Fused(float(f.max()), f) for f in fused])

    start = time.perf_counter()
    approx = approximate.score_folder(folder)
    timing["musc approximate"] = time.perf_counter() - start
    out["musc approximate"] = metrics(test, images, approx[len(normals) :])
    a = np.concatenate([d.heatmap.ravel() for d in approx])
    e = np.concatenate([d.heatmap.ravel() for d in exact])
    out["approximate_maps_pearson"] = float(np.corrcoef(a, e)[0, 1])
    out["approximate_pixel_auroc_change"] = (
        out["musc approximate"]["pixel_auroc"] - out["musc"]["pixel_auroc"]
    )
    out["seconds"] = timing
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--model-name", default="ZSAD-Tiny-ViT-14")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    results = {}
    rows = ("baseline", "baseline + normals", "musc", "musc + normals", "musc approximate")
    print("| set | detector | pixel AUROC | AUPRO | image AUROC |\n|---|---|---|---|---|")
    for dataset, category in SETS:
        r = evaluate_set(args.data / dataset, category, args.model_name, args.image_size)
        results[f"{dataset}/{category}"] = r
        for row in rows:
            m = r[row]
            print(
                f"| {category} | {row} | {m['pixel_auroc']:.3f} | {m['aupro']:.3f} | {m['image_auroc']:.3f} |"
            )
        print(
            f"  ({r['normals']} normals, {r['test']} test images, {r['defective']} defective; approximate maps' "
            f"Pearson {r['approximate_maps_pearson']:.4f}, pixel AUROC change "
            f"{r['approximate_pixel_auroc_change']:+.4f}; seconds {r['seconds']})",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
