"""`zsad predict` (a folder to heatmaps and scores) and `zsad eval` (metrics on a benchmark dataset)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zsad_desktop.cli.cluster_command import add_cluster_options, cmd_cluster_predict
from zsad_desktop.cli.detector_options import (
    TqdmProgress,
    add_detector_options,
    build_detector,
    execution_line,
    tqdm_progress,
)


def add_commands(sub) -> None:
    predict = sub.add_parser(
        "predict", help="heatmaps and scores for a folder", description="Score every image below FOLDER."
    )
    predict.add_argument("folder", type=Path)
    predict.add_argument(
        "--out", type=Path, help="output folder for heatmap PNGs and scores.csv (required without --cluster)"
    )
    seen = predict.add_argument_group("what the detector sees (8-bit photos are used as stored)")
    seen.add_argument(
        "--detector-input",
        type=detector_input_option,
        default="file-window",
        metavar="RULE",
        help="file-window (DICOM's own window, else the 0.5-99.5 percentile window; default), "
        "percentile[:LO:HI], or window:CENTRE:WIDTH (e.g. window:40:80 for the CT brain window)",
    )
    seen.add_argument(
        "--tile-size",
        type=int,
        metavar="PX",
        help="images longer than this are predicted by overlapping tiles of this size "
        "(default: twice the input size, e.g. 1036 for 518)",
    )
    seen.add_argument(
        "--tile-overlap",
        type=int,
        metavar="PX",
        help="pixels shared by neighbouring tiles (default: a quarter of the input size; "
        "an eighth of --tile-size when that is given)",
    )
    seen.add_argument(
        "--no-tiling", action="store_true", help="resize every image to the input, however large"
    )
    add_detector_options(predict)
    predict.add_argument(
        "--normals",
        type=Path,
        metavar="DIR",
        help="a folder of known-good images: their patches form a normal memory whose map is fused "
        "with the method's zero-shot map (not with --method musc or --cluster)",
    )
    add_cluster_options(predict)
    predict.set_defaults(run=cmd_predict)

    evaluate = sub.add_parser(
        "eval", help="metrics on a benchmark dataset", description="Evaluate on a dataset with masks."
    )
    evaluate.add_argument("root", type=Path, help="dataset root (or one category folder)")
    evaluate.add_argument("--layout", choices=("mvtec", "visa", "btad", "folder"), default="mvtec")
    evaluate.add_argument("--categories", nargs="*", help="only these categories")
    evaluate.add_argument(
        "--json", type=Path, help="where to write the metrics (default: eval_<layout>.json)"
    )
    add_detector_options(evaluate)
    evaluate.set_defaults(run=cmd_eval)


def cmd_predict(args: argparse.Namespace) -> int:
    if args.cluster and args.normals is not None:
        print("error: --normals is not available with --cluster", file=sys.stderr)
        return 2
    if args.cluster or args.out is None:  # --out is required unless the workspace is scored on a cluster
        return cmd_cluster_predict(args) if args.cluster else _missing_out()
    from zsad_desktop.app.prediction.folder_prediction import predict_folder
    from zsad_desktop.app.workspace.detector_input import TilingChoice
    from zsad_desktop.imaging.file_names import name_text

    try:
        tiling = TilingChoice(not args.no_tiling, args.tile_size or 0, args.tile_overlap or 0)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    choice, window = args.detector_input
    if not args.folder.is_dir():  # before the detector loads: a mistyped folder is no "0 images scored"
        if args.folder.exists():
            raise NotADirectoryError(
                f"{args.folder}: not a folder (zsad predict scores the images below a folder)"
            )
        raise FileNotFoundError(f"{args.folder}: no such folder")
    problem = _out_folder_problem(args.out)
    if problem:  # before the detector loads, and nothing is written
        print(f"error: {problem}", file=sys.stderr)
        return 2
    detector = build_detector(args)
    if args.normals is not None:
        detector = _with_normals(detector, args.normals, choice, window)
        if detector is None:
            return 2
    print(execution_line(detector), file=sys.stderr)
    progress = tqdm_progress("predict")
    try:
        result = predict_folder(
            detector,
            args.folder,
            args.out,
            batch_size=detector.batch_size,
            progress=progress,
            choice=choice,
            tiling=tiling,
            window=window,
        )
    finally:
        progress.close()  # an error is said on a line of its own, after the bar
    for failure in result.failed:
        print(f"skipped {failure}", file=sys.stderr)
    print(f"{result.summary()}; scores in {name_text(str(args.out / 'scores.csv'))}")
    return 0


def _with_normals(detector, normals: Path, choice, window):
    """The detector fused with a memory of the images below `normals`, or None after saying why not."""
    from zsad_desktop.app.prediction.normal_memory import MemoryDetector, memory_from_folder, musc_extractor
    from zsad_desktop.imaging.file_names import name_text

    if hasattr(detector, "score_folder"):
        print(
            "error: --normals needs a method that scores images one by one (baseline, aaclip, crane), "
            "not a folder-level one",
            file=sys.stderr,
        )
        return None
    extractor = musc_extractor(detector)
    progress = tqdm_progress("normals")
    memory, failed = memory_from_folder(normals, detector, extractor, choice, window, progress)
    progress.close()
    for error in failed:
        print(f"skipped normal {error}", file=sys.stderr)
    print(f"normal memory: {len(memory)} images from {name_text(str(normals))}", file=sys.stderr)
    return MemoryDetector(detector, memory, extractor)


def _out_folder_problem(out: Path) -> str | None:
    """Why `out` cannot be the output folder: it, or a folder above it, is a file."""
    from zsad_desktop.imaging.file_names import name_text

    for path in (out, *out.parents):
        if path.exists():
            if path.is_dir():
                return None
            where = "is a file" if path == out else f"is inside {name_text(str(path))}, a file"
            return (
                f"--out {name_text(str(out))} {where}; --out names a folder for the heatmaps and "
                "scores.csv: give a new or existing folder"
            )
    return None


def _missing_out() -> int:
    print(
        "error: zsad predict needs --out DIR (or --cluster to score into the folder's workspace)",
        file=sys.stderr,
    )
    return 2


def detector_input_option(text: str):
    """--detector-input: file-window | percentile[:LO:HI] | window:CENTRE:WIDTH -> (InputChoice, window or None)."""
    from zsad_desktop.app.workspace.detector_input import CURRENT_WINDOW, FILE_WINDOW, PERCENTILE, InputChoice

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
    raise argparse.ArgumentTypeError(
        f"{text!r}: expected file-window, percentile[:LO:HI] or window:CENTRE:WIDTH"
    )


def cmd_eval(args: argparse.Namespace) -> int:
    from zsad_desktop.app.training.dataset_evaluation import evaluate_dataset

    detector = build_detector(args)
    bars: dict[str, TqdmProgress] = {}

    def progress(category: str, done: int, total: int) -> None:
        bars.setdefault(category, tqdm_progress(category))(done, total)

    result = evaluate_dataset(
        detector, args.root, args.layout, args.categories, detector.batch_size, progress
    )
    for bar in bars.values():
        bar.close()
    print(result.table())
    for skipped in result.skipped:
        print(f"skipped {skipped}", file=sys.stderr)
    out = args.json or Path(f"eval_{args.layout}.json")
    out.write_text(result.to_json())
    print(f"metrics written to {out}")
    return 0
