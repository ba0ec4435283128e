"""`zsad demo`: generated demo images with ground-truth masks."""

from __future__ import annotations

import json
from pathlib import Path


def add_commands(sub) -> None:
    demo = sub.add_parser(
        "demo", help="write generated demo images", description="Write demo images with masks to DIR."
    )
    demo.add_argument("out", type=Path)
    demo.add_argument(
        "--kind",
        choices=("plates", "ct", "wafer"),
        default="plates",
        help="plates: brushed metal with scratches and stains (PNG, MVTec layout); "
        "ct: a head phantom as a 16-bit DICOM series with bleeds, and a multi-frame copy; "
        "wafer: one large 16-bit TIFF (--side pixels square) of a die grid with defects",
    )
    demo.add_argument(
        "--side", type=int, default=8192, help="wafer only: image side in pixels (default: 8192)"
    )
    demo.set_defaults(run=cmd_demo)


def cmd_demo(args) -> int:
    from zsad_desktop.demo.ct import write_ct_demo
    from zsad_desktop.demo.plates import write_demo_folder
    from zsad_desktop.demo.wafer import write_wafer_demo

    if args.kind == "wafer":
        written = write_wafer_demo(args.out, side=args.side)
    else:
        written = (write_ct_demo if args.kind == "ct" else write_demo_folder)(args.out)
    print(json.dumps(str(written)))
    return 0
