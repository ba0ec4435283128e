"""Command line: the application's use cases without the window.

    zsad gui [FOLDER]                 the review window
    zsad predict FOLDER --out DIR     heatmaps and a CSV of scores
    zsad eval ROOT --layout mvtec     per-category metrics table and JSON
    zsad train --method crane ...     train adapters or prompts on a dataset
    zsad scan / export / models / retrain WORKSPACE   the review store
    zsad demo DIR                     write generated demo images
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable

from zsad_desktop import __version__


def add_detector_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("detector")
    group.add_argument("--method", default="baseline", help="detection method: baseline, aaclip, crane (default: baseline)")
    group.add_argument("--model", type=Path, help="a trained model folder (has model.json); overrides --method")
    group.add_argument("--checkpoint", help="method checkpoint: Crane .pth file or AA-CLIP adapter folder")
    group.add_argument("--model-name", default="ViT-L-14-336", help="open_clip backbone (default: ViT-L-14-336)")
    group.add_argument(
        "--pretrained", default="openai", help="pretrained tag, checkpoint file, or 'random' for a test run (default: openai)"
    )
    group.add_argument("--image-size", type=int, default=518, help="input size in pixels (default: 518, a 37x37 grid)")
    group.add_argument("--object-name", help="what the images show, used in the text prompts (default: object, or the model's own)")
    group.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    group.add_argument("--batch-size", type=int, default=None, help="images per forward pass (default: by device)")
    group.add_argument("--variant", choices=("auto", "crane", "crane+"), help="Crane only: crane+ adds D-Attn with DINOv2")
    group.add_argument("--dinov2-checkpoint", help="Crane+ only: DINOv2 weights file")


def build_detector(args: argparse.Namespace):
    from zsad_desktop.detection.interface import create_detector
    from zsad_desktop.detection.saved_model import load_saved_model

    common = {"object_name": args.object_name} if args.object_name else {}
    if args.batch_size:
        common["batch_size"] = args.batch_size
    if args.model:
        return load_saved_model(args.model, device=args.device, **common)
    extra = {key: value for key, value in (("checkpoint", args.checkpoint), ("variant", args.variant),
                                           ("dinov2_checkpoint", args.dinov2_checkpoint)) if value}
    return create_detector(
        args.method,
        model_name=args.model_name,
        pretrained=args.pretrained,
        image_size=args.image_size,
        device=args.device,
        **common,
        **extra,
    )


def tqdm_progress(description: str):
    from tqdm import tqdm

    bar = tqdm(desc=description, unit="img", file=sys.stderr)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    update.close = bar.close  # type: ignore[attr-defined]
    return update


def cmd_predict(args: argparse.Namespace) -> int:
    from zsad_desktop.app.detector_input import TilingChoice
    from zsad_desktop.app.folder_prediction import predict_folder

    try:
        tiling = TilingChoice(not args.no_tiling, args.tile_size or 0, args.tile_overlap or 0)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    choice, window = args.detector_input
    if not args.folder.is_dir():  # before the detector loads: a mistyped folder is no "0 images scored"
        if args.folder.exists():
            raise NotADirectoryError(f"{args.folder}: not a folder (zsad predict scores the images below a folder)")
        raise FileNotFoundError(f"{args.folder}: no such folder")
    detector = build_detector(args)
    progress = tqdm_progress("predict")
    result = predict_folder(detector, args.folder, args.out, batch_size=detector.batch_size, progress=progress,
                            choice=choice, tiling=tiling, window=window)
    progress.close()
    for error in result.failed:
        print(f"skipped {error}", file=sys.stderr)
    print(f"{len(result.scored)} images scored, {len(result.failed)} skipped; scores in {args.out / 'scores.csv'}")
    return 0


def detector_input_option(text: str):
    """--detector-input: file-window | percentile[:LO:HI] | window:CENTRE:WIDTH -> (InputChoice, window or None)."""
    from zsad_desktop.app.detector_input import CURRENT_WINDOW, FILE_WINDOW, PERCENTILE, InputChoice

    name, *values = text.split(":")
    try:
        numbers = [float(v) for v in values]
        if name == FILE_WINDOW and not numbers:
            return InputChoice(FILE_WINDOW), None
        if name == PERCENTILE and len(numbers) in (0, 2):
            return InputChoice(PERCENTILE, *numbers), None
        if name == "window" and len(numbers) == 2 and numbers[1] > 0:
            return InputChoice(CURRENT_WINDOW), (numbers[0], numbers[1])
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None
    raise argparse.ArgumentTypeError(f"{text!r}: expected file-window, percentile[:LO:HI] or window:CENTRE:WIDTH")


def cmd_eval(args: argparse.Namespace) -> int:
    from zsad_desktop.app.dataset_evaluation import evaluate_dataset

    detector = build_detector(args)
    bars: dict[str, Callable] = {}

    def progress(category: str, done: int, total: int) -> None:
        bars.setdefault(category, tqdm_progress(category))(done, total)

    result = evaluate_dataset(detector, args.root, args.layout, args.categories, detector.batch_size, progress)
    for bar in bars.values():
        bar.close()
    print(result.table())
    for skipped in result.skipped:
        print(f"skipped {skipped}", file=sys.stderr)
    out = args.json or Path(f"eval_{args.layout}.json")
    out.write_text(result.to_json())
    print(f"metrics written to {out}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from zsad_desktop.app.dataset_evaluation import evaluate_samples
    from zsad_desktop.detection.backbone import BackboneSpec
    from zsad_desktop.detection.saved_model import load_saved_model
    from zsad_desktop.detection.training import samples_from_dataset, split_samples, train_method

    samples = samples_from_dataset(args.data, args.layout)
    train, held_out = split_samples(samples, args.held_out)
    config = {k: v for k, v in {"epochs": args.epochs, "batch_size": args.batch_size,
                                "dinov2_checkpoint": args.dinov2_checkpoint}.items() if v}
    bar = tqdm(desc=f"train {args.method}", unit="step", file=sys.stderr)

    def progress(p) -> None:
        bar.set_postfix_str(f"{p.stage} epoch {p.epoch}/{p.epochs} loss {p.loss:.4f} eta {p.eta_s:.0f}s")
        bar.update(1)
        if p.metrics:  # the epoch's last step: its mean loss and held-out metrics, one line per epoch
            shown = ", ".join(f"{k} {v:.4f}" for k, v in p.metrics.items() if isinstance(v, (int, float)))
            bar.write(f"{p.stage} epoch {p.epoch}/{p.epochs}: {shown}")

    spec = BackboneSpec(args.model_name, args.pretrained, args.image_size)
    result = train_method(args.method, backbone_spec=spec, train_samples=train, out_dir=args.out, config=config,
                          device=args.device, progress=progress, val_samples=held_out,
                          normalisation_samples=held_out or train)
    bar.close()
    print(f"model written to {result.model_dir}; loss per epoch: " + ", ".join(f"{x:.4f}" for x in result.losses))
    if held_out:
        metrics = evaluate_samples(load_saved_model(result.model_dir, device=args.device), held_out)
        print("held-out: " + ", ".join(f"{k} {v * 100:.1f}" for k, v in metrics.items()))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="zsad", description="Review anomalies proposed by zero-shot CLIP detectors.")
    root.add_argument("--version", action="version", version=f"zsad-desktop {__version__}")
    root.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the review window", description="Open the review window, optionally on FOLDER.")
    gui.add_argument("folder", nargs="?", type=Path, help="image folder to open")
    chosen = gui.add_argument_group("detector (kept in the settings, as if chosen in Settings; default: the saved choice)")
    chosen.add_argument("--method", help="baseline, aaclip or crane")
    chosen.add_argument("--model-name", help="open_clip backbone, e.g. ViT-L-14-336")
    chosen.add_argument("--pretrained", help="pretrained tag or weights file")
    chosen.add_argument("--image-size", type=int, help="input size in pixels")
    chosen.add_argument("--checkpoint", help="method checkpoint: Crane .pth file or AA-CLIP adapter folder")
    chosen.add_argument("--object-name", help="what the images show, used in the text prompts")
    chosen.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    gui.add_argument("--reviewer", help="name recorded with each review")
    gui.set_defaults(run=cmd_gui)

    predict = sub.add_parser("predict", help="heatmaps and scores for a folder", description="Score every image below FOLDER.")
    predict.add_argument("folder", type=Path)
    predict.add_argument("--out", type=Path, required=True, help="output folder for heatmap PNGs and scores.csv")
    seen = predict.add_argument_group("what the detector sees (8-bit photos are used as stored)")
    seen.add_argument("--detector-input", type=detector_input_option, default="file-window", metavar="RULE",
                      help="file-window (DICOM's own window, else the 0.5-99.5 percentile window; default), "
                           "percentile[:LO:HI], or window:CENTRE:WIDTH (e.g. window:40:80 for the CT brain window)")
    seen.add_argument("--tile-size", type=int, metavar="PX",
                      help="images longer than this are predicted by overlapping tiles of this size "
                           "(default: twice the input size, e.g. 1036 for 518)")
    seen.add_argument("--tile-overlap", type=int, metavar="PX",
                      help="pixels shared by neighbouring tiles (default: a quarter of the input size; "
                           "an eighth of --tile-size when that is given)")
    seen.add_argument("--no-tiling", action="store_true", help="resize every image to the input, however large")
    add_detector_options(predict)
    predict.set_defaults(run=cmd_predict)

    evaluate = sub.add_parser("eval", help="metrics on a benchmark dataset", description="Evaluate on a dataset with masks.")
    evaluate.add_argument("root", type=Path, help="dataset root (or one category folder)")
    evaluate.add_argument("--layout", choices=("mvtec", "visa", "btad", "folder"), default="mvtec")
    evaluate.add_argument("--categories", nargs="*", help="only these categories")
    evaluate.add_argument("--json", type=Path, help="where to write the metrics (default: eval_<layout>.json)")
    add_detector_options(evaluate)
    evaluate.set_defaults(run=cmd_eval)

    train = sub.add_parser("train", help="train a method on a dataset", description="Train AA-CLIP adapters or Crane prompts.")
    train.add_argument("--data", type=Path, required=True, help="dataset root")
    train.add_argument("--layout", choices=("mvtec", "visa", "btad", "folder"), default="mvtec")
    train.add_argument("--out", type=Path, required=True, help="model folder to write (model.json + weights)")
    train.add_argument("--epochs", type=int, help="epochs (default: the paper's)")
    train.add_argument("--held-out", type=float, default=0.2, help="fraction kept aside for the final metrics")
    add_detector_options(train)
    train.set_defaults(run=cmd_train, method="crane")

    from zsad_desktop.cli_workspace import add_workspace_commands

    add_workspace_commands(sub, add_detector_options, build_detector)
    return root


def cmd_gui(args: argparse.Namespace) -> int:
    from zsad_desktop.ui.launch import run_gui

    names = ("method", "model_name", "pretrained", "image_size", "checkpoint", "object_name", "device", "reviewer")
    return run_gui(str(args.folder) if args.folder else None, **{name: getattr(args, name) for name in names})


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from zsad_desktop.user_errors import USER_ERRORS

    try:
        return args.run(args)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
