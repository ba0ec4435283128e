"""`zsad gui`: the review window, with detector choices kept as if made in Settings."""

from __future__ import annotations

from pathlib import Path


def add_commands(sub) -> None:
    gui = sub.add_parser(
        "gui", help="open the review window", description="Open the review window, optionally on FOLDER."
    )
    gui.add_argument("folder", nargs="?", type=Path, help="image folder to open")
    chosen = gui.add_argument_group(
        "detector (kept in the settings, as if chosen in Settings; default: the saved choice)"
    )
    chosen.add_argument("--method", help="baseline, aaclip or crane")
    chosen.add_argument("--model-name", help="open_clip backbone, e.g. ViT-L-14-336")
    chosen.add_argument("--pretrained", help="pretrained tag or weights file")
    chosen.add_argument("--image-size", type=int, help="input size in pixels")
    chosen.add_argument("--checkpoint", help="method checkpoint: Crane .pth file or AA-CLIP adapter folder")
    chosen.add_argument("--object-name", help="what the images show, used in the text prompts")
    chosen.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    chosen.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16", "float16"),
        help="auto: bfloat16 where the CPU or GPU has it, else float32",
    )
    chosen.add_argument(
        "--gelu", choices=("quick", "exact"), help="musc and aaclip: the backbone's MLP activation"
    )
    gui.add_argument("--reviewer", help="name recorded with each review")
    gui.add_argument(
        "--db", help="the workspace's database, e.g. a team's postgresql+psycopg2://user@host/reviews"
    )
    gui.set_defaults(run=cmd_gui)


def cmd_gui(args) -> int:
    from zsad_desktop.ui.launch import run_gui

    names = (
        "method",
        "model_name",
        "pretrained",
        "image_size",
        "checkpoint",
        "object_name",
        "device",
        "precision",
        "gelu",
        "reviewer",
    )
    options = {name: getattr(args, name) for name in names}
    if args.db:  # the folder's workspace in a shared database instead of its own
        options["db_url"] = args.db
    return run_gui(str(args.folder) if args.folder else None, **options)
