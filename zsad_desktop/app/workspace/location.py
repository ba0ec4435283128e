"""Where a workspace keeps its review database and pixel files, and why.

Normally in the image folder's `.zsad/`. A read-only folder (a DVD, an archive)
and a folder on a network share get a per-user folder on this computer
instead: SQLite over NFS or SMB is how databases get corrupted. A database
already on the share stays where its reviews are, and a reviewer may keep a
share's reviews on it deliberately (`--keep-on-share`, or Settings); then the
store runs it without WAL, which a share cannot carry.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from zsad_desktop.store import display_url, sqlite_url
from zsad_desktop.store.filesystems import filesystem_of

DATA_DIR = ".zsad"
DATABASE_FILE = "reviews.sqlite"
TEAM_DATABASE = "postgresql+psycopg2://user@server/reviews"


class Placement(Enum):
    IN_FOLDER = "in the image folder"
    READ_ONLY = "on this computer: the image folder is read-only"
    SHARE_LOCAL = "on this computer: the image folder is on a network share"
    ON_SHARE = "on the network share, without WAL: one reviewer at a time"
    CHOSEN = "where it was chosen (--data-dir)"
    SERVER = "on a database server"


@dataclass(frozen=True)
class WorkspaceLocation:
    folder: Path
    data_dir: Path
    placement: Placement
    filesystem: str | None = None  # the share's type (nfs4, cifs, fuse.sshfs) when on one
    db_url: str | None = None  # a database chosen by URL (a team's PostgreSQL)

    @property
    def database_url(self) -> str:
        return self.db_url or sqlite_url(self.data_dir / DATABASE_FILE)

    def description(self) -> str:
        """One line for the settings: where the reviews are and why."""
        where = display_url(self.db_url) if self.db_url else str(self.data_dir)
        return f"Reviews are kept {self.placement.value}: {where}"

    def notice(self) -> str | None:
        """What the reviewer must be told once when the folder opens, or None."""
        team = f"A team reviewing it together should share one database: --db {TEAM_DATABASE}"
        if self.placement is Placement.SHARE_LOCAL:
            return (
                f"{self.folder} is on a network share ({self.filesystem}): its reviews are kept on this "
                f"computer in {self.data_dir}, where SQLite is safe. {team}"
            )
        if self.placement is Placement.ON_SHARE:
            return (
                f"{self.folder} is on a network share ({self.filesystem}) and so is its review database "
                f"({self.data_dir}): safe for one reviewer at a time only. {team}"
            )
        return None


def per_user_dir(folder: Path) -> Path:
    base = (
        Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
        / "zsad-desktop"
        / "workspaces"
    )
    return base / hashlib.sha1(str(folder).encode()).hexdigest()[:16]


def choose_location(
    folder: Path,
    data_dir: Path | None = None,
    db_url: str | None = None,
    keep_on_share: bool = False,
) -> WorkspaceLocation:
    """Where `folder`'s workspace lives (`folder` resolved; `data_dir` given by the reviewer, if any)."""
    if data_dir is not None:
        placement = Placement.SERVER if db_url and not db_url.startswith("sqlite") else Placement.CHOSEN
        return WorkspaceLocation(folder, data_dir, placement, db_url=db_url)
    inside = folder / DATA_DIR
    filesystem = filesystem_of(folder)
    if filesystem is not None and filesystem.is_network:
        kept = keep_on_share or (inside / DATABASE_FILE).is_file()
        if db_url and not db_url.startswith("sqlite"):
            kept = True  # the server holds the facts; only pixel files go to the data folder
        placement = Placement.ON_SHARE if kept else Placement.SHARE_LOCAL
        if db_url and kept:
            placement = Placement.SERVER
        return WorkspaceLocation(
            folder, inside if kept else per_user_dir(folder), placement, filesystem.fstype, db_url
        )
    if inside.is_dir() or os.access(folder, os.W_OK):
        placement = Placement.SERVER if db_url and not db_url.startswith("sqlite") else Placement.IN_FOLDER
        return WorkspaceLocation(folder, inside, placement, db_url=db_url)
    return WorkspaceLocation(folder, per_user_dir(folder), Placement.READ_ONLY, db_url=db_url)
