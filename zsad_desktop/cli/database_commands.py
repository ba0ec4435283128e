"""`zsad db backup | restore | check FOLDER`: the copies of a workspace's SQLite review database."""

from __future__ import annotations

import sys
from pathlib import Path

from zsad_desktop.cli.workspace_location import add_location_options

SERVER_NOTE = (
    "this workspace's database is on a server: back it up with the server's own tools "
    "(PostgreSQL: pg_dump, and pg_restore to bring it back)"
)


def add_commands(sub) -> None:
    db = sub.add_parser(
        "db",
        help="back up, restore or check the review database",
        description="Copies of FOLDER's review database (SQLite). Backups are also made automatically: "
        "before every schema update and once a day while reviews change, 7 of each kept in the data "
        "folder's backups/.",
    )
    db.add_argument(
        "action",
        choices=("backup", "restore", "check"),
        help="backup: copy it now; restore: put the newest good backup (or --from FILE) in its place, "
        "keeping the damaged file beside it (close the window first); check: SQLite's integrity check "
        "and the mask and heatmap files the rows point to (exit 1 when a problem is found)",
    )
    db.add_argument("workspace", type=Path, help="image folder")
    db.add_argument("--from", dest="source", type=Path, metavar="FILE", help="restore: this backup")
    add_location_options(db, db_help="database URL (a server is backed up with its own tools)")
    db.set_defaults(run=cmd_db)


def cmd_db(args) -> int:
    from zsad_desktop.app.workspace.workspace import locate
    from zsad_desktop.store.errors import StoreError

    location = locate(args.workspace, args.db, args.data_dir, args.keep_on_share)
    if args.db and not args.db.startswith("sqlite"):
        raise StoreError(SERVER_NOTE)
    database = Path(location.database_url.removeprefix("sqlite:///"))
    if args.action == "check":
        return _check(database, location.data_dir, location.folder)
    if args.action == "backup":
        return _backup(database)
    return _restore(database, args.source, location.folder)


def _check(database: Path, data_dir: Path, folder: Path) -> int:
    from zsad_desktop.store.backups import backups_dir, newest_good_backup
    from zsad_desktop.store.database_check import check_database

    report = check_database(database, data_dir)
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    if any(problem.startswith("integrity") for problem in report.problems):
        newest = newest_good_backup(backups_dir(database))
        if newest is not None:
            print(f"the newest good backup is {newest.path}: zsad db restore {folder}", file=sys.stderr)
    if report.ok:
        print(f"{database}: ok ({report.reviews} reviews, {report.files_checked} pixel files present)")
    return 0 if report.ok else 1


def _backup(database: Path) -> int:
    from zsad_desktop.store.backups import make_backup
    from zsad_desktop.store.errors import StoreError

    if not database.is_file():
        raise StoreError(f"there is no review database at {database} to back up")
    print(f"backed up to {make_backup(database, 'manual')}")
    return 0


def _restore(database: Path, source: Path | None, folder: Path) -> int:
    from zsad_desktop.store.backups import backups_dir, newest_good_backup
    from zsad_desktop.store.database_check import restore_backup
    from zsad_desktop.store.errors import StoreError

    if source is None:
        newest = newest_good_backup(backups_dir(database))
        if newest is None:
            raise StoreError(f"there is no good backup of {database} in {backups_dir(database)}")
        source = newest.path
    elif not source.is_file():
        raise StoreError(f"there is no backup file {source}")
    kept = restore_backup(database, source)
    print(f"restored {database} from {source}")
    if kept is not None:
        print(f"the file it replaced is kept as {kept}")
    print(f"check it with: zsad db check {folder}")
    return 0
