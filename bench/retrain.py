"""Time of one retraining run on N reviewed images (the window's Retrain).

Builds a workspace of generated demo images, records a review for each
(their masks as corrections, the rest as normal), then times `retrain` with
the paper's defaults unless --epochs is given. One line per run.

    python bench/retrain.py --images 100 --method crane --model-name ViT-L-14-336 --pretrained openai --device cuda
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.training import model_versions
from zsad_desktop.app.training.retraining import retrain
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.demo.plates import write_demo_folder
from zsad_desktop.detection.backbone import BackboneSpec
from zsad_desktop.imaging.masks import read_mask
from zsad_desktop.store import ReviewStatus


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--method", default="crane", choices=("crane", "aaclip"))
    parser.add_argument("--model-name", default="ViT-L-14-336")
    parser.add_argument("--pretrained", default="random")
    parser.add_argument("--image-size", type=int, default=518)
    parser.add_argument("--epochs", type=int, help="default: the paper's")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="zsad-retrain-"))
    per_defect = args.images // 4
    folder = write_demo_folder(root / "plates", normal=args.images - 2 * per_defect, per_defect=per_defect)
    workspace = Workspace.open(folder)
    scan(workspace)
    spec = BackboneSpec(args.model_name, args.pretrained, args.image_size)
    model_versions.register_version(
        workspace,
        "bench:untrained",
        "baseline",
        {"model_name": spec.model_name, "pretrained": spec.pretrained, "image_size": spec.image_size},
        activate=True,
    )
    for row in workspace.images(order="name"):
        defect, name = row.rel_path.split("/")[-2:]
        if defect == "good":
            record_review(workspace, row.id, ReviewStatus.NORMAL)
        else:
            mask = read_mask(folder / "ground_truth" / defect / name.replace(".png", "_mask.png"))
            record_review(workspace, row.id, ReviewStatus.CORRECTED, mask=mask)
    start = time.perf_counter()
    outcome = retrain(
        workspace,
        method=args.method,
        backbone=spec,
        config={"epochs": args.epochs} if args.epochs else None,
        device=args.device,
    )
    seconds = time.perf_counter() - start
    print(
        f"retrain {args.method} on {args.images} reviewed images ({len(outcome.held_out)} held out) with "
        f"{args.model_name}@{args.image_size} on {args.device}: {seconds:.1f} s including the held-out comparison; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
        f"held-out pixel AUROC {outcome.new_metrics.get('pixel_auroc', float('nan')):.3f}"
    )
    workspace.close()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
