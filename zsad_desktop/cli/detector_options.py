"""The detector options every predicting command shares, the detector they build, and a progress bar."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_detector_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("detector")
    group.add_argument(
        "--method",
        default="baseline",
        help="detection method: baseline, aaclip, crane, musc (default: baseline)",
    )
    group.add_argument(
        "--model", type=Path, help="a trained model folder (has model.json); overrides --method"
    )
    group.add_argument("--checkpoint", help="method checkpoint: Crane .pth file or AA-CLIP adapter folder")
    group.add_argument(
        "--model-name", default="ViT-L-14-336", help="open_clip backbone (default: ViT-L-14-336)"
    )
    group.add_argument(
        "--pretrained",
        default="openai",
        help="pretrained tag, checkpoint file, or 'random' for a test run (default: openai)",
    )
    group.add_argument(
        "--image-size", type=int, default=518, help="input size in pixels (default: 518, a 37x37 grid)"
    )
    group.add_argument(
        "--object-name",
        help="what the images show, used in the text prompts (default: object, or the model's own)",
    )
    group.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    group.add_argument(
        "--batch-size", type=int, default=None, help="images per forward pass (default: by device)"
    )
    group.add_argument(
        "--engine",
        choices=("fast", "exact"),
        help="fast (default): attention by scaled_dot_product_attention; exact: the explicit float32 "
        "path the papers' code computes, to check against",
    )
    group.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16", "float16"),
        help="auto (default): bfloat16 where the CPU or GPU has it natively (float16 on older GPUs), "
        "else float32; float32 for maps within 1e-4 of the exact engine",
    )
    group.add_argument(
        "--gelu",
        choices=("quick", "exact"),
        help="musc and aaclip: the backbone's MLP activation. exact: as the authors' code builds it (the "
        "MuSc paper's figures); quick: QuickGELU, what OpenAI's weights were trained with. Default: the "
        "weights' own for musc (quick for OpenAI's, sharing the other methods' backbone), quick for aaclip",
    )
    group.add_argument(
        "--approximate",
        action="store_true",
        help="musc only: each patch's nearest patch found in a random projection to an eighth of the "
        "dimensions and re-ranked exactly; faster, maps close to exact ones (README, Detectors)",
    )
    group.add_argument(
        "--variant", choices=("auto", "crane", "crane+"), help="Crane only: crane+ adds D-Attn with DINOv2"
    )
    group.add_argument("--dinov2-checkpoint", help="Crane+ only: DINOv2 weights file")


GELU_METHODS = ("musc", "aaclip")  # the methods with a `gelu` choice


def build_detector(args: argparse.Namespace):
    from zsad_desktop.detection.interface import DetectorError, create_detector
    from zsad_desktop.detection.saved_model import load_saved_model

    common = {"object_name": args.object_name} if args.object_name else {}
    if args.batch_size:
        common["batch_size"] = args.batch_size
    common.update({key: value for key in ("engine", "precision") if (value := getattr(args, key, None))})
    if args.model:
        return load_saved_model(args.model, device=args.device, **common)
    gelu = getattr(args, "gelu", None)
    if gelu and args.method not in GELU_METHODS:
        raise DetectorError(f"--gelu applies to {' and '.join(GELU_METHODS)}, not {args.method}")
    if getattr(args, "approximate", False) and args.method != "musc":
        raise DetectorError(f"--approximate applies to musc, not {args.method}")
    extra = {
        key: value
        for key, value in (
            ("gelu", gelu),
            ("approximate", getattr(args, "approximate", False)),
            ("checkpoint", args.checkpoint),
            ("variant", args.variant),
            ("dinov2_checkpoint", args.dinov2_checkpoint),
        )
        if value
    }
    return create_detector(
        args.method,
        model_name=args.model_name,
        pretrained=args.pretrained,
        image_size=args.image_size,
        device=args.device,
        **common,
        **extra,
    )


def execution_line(detector) -> str:
    """How the detector will run, for the start of a long command (which precision the default chose)."""
    name = getattr(detector, "method", type(detector).__name__)
    execution, device = getattr(detector, "execution", None), getattr(detector, "device", None)
    if execution is None or device is None:  # a detector that is not a CLIP one (tests, plug-ins)
        return str(name)
    dtype = str(execution.dtype(device)).replace("torch.", "")
    hint = "; --precision float32 for maps within 1e-4 of the exact engine" if dtype != "float32" else ""
    return f"{name} on {device}: {execution.engine} engine, {dtype}{hint}"


class TqdmProgress:
    """A progress callback (done, total) drawing a tqdm bar on stderr; `close` ends the bar."""

    def __init__(self, description: str) -> None:
        from tqdm import tqdm

        self._bar = tqdm(desc=description, unit="img", file=sys.stderr)

    def __call__(self, done: int, total: int) -> None:
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def tqdm_progress(description: str) -> TqdmProgress:
    return TqdmProgress(description)
