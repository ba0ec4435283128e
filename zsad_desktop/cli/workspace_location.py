"""Options that say where a workspace is kept, and opening it with the reviewer told where that is."""

from __future__ import annotations

import sys
from pathlib import Path

DB_HELP = "database URL (default: FOLDER/.zsad/reviews.sqlite), e.g. a team's postgresql+psycopg2://user@host/reviews"


def add_location_options(parser, db_help: str = DB_HELP) -> None:
    parser.add_argument("--db", help=db_help)
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep the review database and pixel files in DIR (default: FOLDER/.zsad; on this computer "
        "for a read-only folder or one on a network share)",
    )
    parser.add_argument(
        "--keep-on-share",
        action="store_true",
        help="a folder on a network share keeps its reviews in FOLDER/.zsad on the share "
        "(one reviewer at a time; default: on this computer)",
    )


def open_workspace(folder: Path, args):
    """The workspace of `folder` with the options of `add_location_options`; says once (on stderr) where
    the reviews are kept when the reviewer must know (a folder on a network share)."""
    from zsad_desktop.app.workspace.workspace import Workspace

    workspace = Workspace.open(
        folder,
        db_url=getattr(args, "db", None),
        data_dir=getattr(args, "data_dir", None),
        keep_on_share=getattr(args, "keep_on_share", False),
    )
    notice = workspace.location.notice()
    if notice:
        print(f"note: {notice}", file=sys.stderr)
    return workspace
