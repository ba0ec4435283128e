"""`zsad scan / export / models / retrain`: the use cases of a review workspace."""

from __future__ import annotations

import sys
from pathlib import Path

from zsad_desktop.cli.detector_options import add_detector_options, build_detector
from zsad_desktop.cli.workspace_location import add_location_options, open_workspace


def add_commands(sub) -> None:
    scan = sub.add_parser(
        "scan", help="index a folder into its review workspace", description="Scan FOLDER (incremental)."
    )
    scan.add_argument("workspace", type=Path, help="image folder")
    add_location_options(scan)
    scan.add_argument("--predict", action="store_true", help="also compute missing predictions")
    add_detector_options(scan)
    scan.set_defaults(run=cmd_scan)

    export = sub.add_parser(
        "export", help="export reviewed masks", description="Export reviewed masks and reports."
    )
    export.add_argument("workspace", type=Path)
    export.add_argument("--format", choices=("mvtec", "coco", "report"), default="mvtec")
    export.add_argument(
        "--out", type=Path, required=True, help="folder (mvtec) or file (coco .json, report .csv/.json)"
    )
    export.add_argument("--category", default="reviewed", help="category folder name in the MVTec export")
    export.add_argument(
        "--dicom-seg",
        action="store_true",
        help="mvtec only: also a DICOM Segmentation per reviewed DICOM image with a defect",
    )
    add_location_options(export)
    export.set_defaults(run=cmd_export)

    models = sub.add_parser(
        "models", help="list, promote or roll back model versions", description="Model versions."
    )
    models.add_argument("action", choices=("list", "promote", "rollback"))
    models.add_argument("workspace", type=Path)
    models.add_argument("version", nargs="?", help="version name for promote (e.g. v2)")
    add_location_options(models)
    models.set_defaults(run=cmd_models)

    retrain = sub.add_parser(
        "retrain", help="train a new version on the reviews", description="Retrain on reviewed images."
    )
    retrain.add_argument("workspace", type=Path)
    retrain.add_argument("--method", help="method to train (default: the active one; crane for the baseline)")
    retrain.add_argument("--epochs", type=int)
    retrain.add_argument("--device", default="auto")
    retrain.add_argument("--promote", action="store_true", help="make the new version active at once")
    add_location_options(retrain)
    retrain.set_defaults(run=cmd_retrain)


def _open(args):
    return open_workspace(args.workspace, args)


def cmd_scan(args) -> int:
    from zsad_desktop.app.prediction.workspace_predictions import PredictionFailure, predict_images
    from zsad_desktop.app.training import model_versions
    from zsad_desktop.app.workspace.scanning import scan

    workspace = _open(args)
    report = scan(workspace)
    print(
        f"{report.total} images: {report.added} new, {report.changed} changed, {report.unchanged} unchanged, "
        f"{report.missing} gone, {len(report.unreadable)} unreadable"
    )
    for problem in report.unreadable:
        print(f"unreadable {problem}", file=sys.stderr)
    if args.predict:
        detector = build_detector(args)
        model_versions.register_version(
            workspace,
            detector.model_id,
            args.method,
            {"model_name": args.model_name, "pretrained": args.pretrained, "image_size": args.image_size},
            settings={"object_name": args.object_name or "object"},
            activate=True,
        )
        ids = [r.id for r in workspace.images() if r.score is None and not r.load_error]
        failed = sum(isinstance(o, PredictionFailure) for o in predict_images(workspace, detector, ids))
        print(f"{len(ids) - failed} predictions computed, {failed} failed")
    counts = workspace.counts()
    print("reviews: " + ", ".join(f"{s.value} {n}" for s, n in counts.items()))
    return 0


def cmd_export(args) -> int:
    from zsad_desktop.app.exports import ExportChoice, run_export

    if args.dicom_seg and args.format != "mvtec":
        print("--dicom-seg goes with --format mvtec", file=sys.stderr)
        return 2
    workspace = _open(args)
    summary = run_export(workspace, ExportChoice(args.format, args.out, args.category, args.dicom_seg))
    for line in summary.lines:
        print(line)
    for line in summary.problems:
        print(line, file=sys.stderr)
    return 0


def cmd_models(args) -> int:
    from zsad_desktop.app.training import model_versions

    workspace = _open(args)
    if args.action == "promote":
        if not args.version:
            print("error: promote needs a version name (see `zsad models list`)", file=sys.stderr)
            return 2
        print(f"{model_versions.promote(workspace, args.version).name} is now active")
    elif args.action == "rollback":
        print(f"rolled back: {model_versions.rollback(workspace).name} is active again")
    from zsad_desktop.app.training.version_quality import table_lines, version_quality

    for line in table_lines(version_quality(workspace)):  # the table the Models dialog charts
        print(line)
    return 0


def cmd_retrain(args) -> int:
    from tqdm import tqdm

    from zsad_desktop.app.training import model_versions
    from zsad_desktop.app.training.retraining import retrain

    workspace = _open(args)
    bar = tqdm(desc="retrain", unit="step", file=sys.stderr)

    def progress(p) -> None:
        bar.set_postfix_str(f"epoch {p.epoch}/{p.epochs} loss {p.loss:.4f} eta {p.eta_s:.0f}s")
        bar.update(1)

    try:
        outcome = retrain(
            workspace,
            method=args.method,
            config={"epochs": args.epochs} if args.epochs else None,
            device=args.device,
            progress=progress,
        )
    finally:
        bar.close()  # an error is said on a line of its own, after the bar
    print(
        f"new version {outcome.version.name} ({outcome.version.method}), held-out on {len(outcome.held_out)} reviewed images:"
    )
    for key in ("image_auroc", "pixel_auroc", "pixel_aupro", "pixel_f1_max", "proposal_dice"):
        new, old = outcome.new_metrics.get(key, float("nan")), outcome.active_metrics.get(key, float("nan"))
        print(f"  {key:<14} new {new * 100:6.1f}   active {old * 100:6.1f}")
    if args.promote:
        model_versions.promote(workspace, outcome.version.name)
        print(f"{outcome.version.name} is now active")
    else:
        print(f"promote it with: zsad models promote {args.workspace} {outcome.version.name}")
    return 0
