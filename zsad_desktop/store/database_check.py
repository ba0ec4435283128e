"""Check a SQLite review database, and bring one back from a backup.

The check is SQLite's `PRAGMA integrity_check` plus the pixel files the rows
point to (masks, proposals, heatmaps). Restoring copies a good backup into
place and keeps the damaged file (and its journal) beside it under a
`.damaged-<time>` name: nothing is ever overwritten.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from zsad_desktop.store.backups import copy_database, problems_of
from zsad_desktop.store.errors import StoreError

#: (table, column) pairs naming pixel files relative to the data folder
FILE_COLUMNS = (
    ("reviews", "mask_file"),
    ("reviews", "proposal_file"),
    ("review_events", "mask_file"),
    ("review_events", "proposal_file"),
    ("predictions", "heatmap_file"),
)
#: files SQLite keeps beside a database while it is used
COMPANIONS = ("-wal", "-shm", "-journal")
MISSING_SHOWN = 10


@dataclass
class CheckReport:
    database: Path
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    reviews: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_database(database_file: Path, data_dir: Path) -> CheckReport:
    report = CheckReport(Path(database_file))
    if not report.database.is_file():
        report.problems.append(f"there is no review database at {database_file}")
        return report
    report.problems += [f"integrity: {line}" for line in problems_of(report.database)]
    if report.problems:
        return report  # rows of a damaged file cannot be trusted to name files
    uri = f"{report.database.resolve().as_uri()}?mode=ro"
    missing: list[str] = []
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as connection:
        report.reviews = connection.execute("SELECT count(*) FROM reviews").fetchone()[0]
        names: set[str] = set()
        for table, column in FILE_COLUMNS:
            rows = connection.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL")
            names.update(row[0] for row in rows)
    for name in sorted(names):
        report.files_checked += 1
        if not (Path(data_dir) / name).is_file():
            missing.append(name)
    if missing:
        shown = ", ".join(missing[:MISSING_SHOWN]) + (" ..." if len(missing) > MISSING_SHOWN else "")
        report.problems.append(
            f"{len(missing)} pixel files the rows point to are missing in {data_dir}: {shown}"
        )
    return report


def restore_backup(database_file: Path, backup: Path, clock: Callable[[], float] = time.time) -> Path | None:
    """Put a copy of `backup` in place of `database_file`; the path the damaged file was kept under
    (None when there was none). Refuses a backup that is itself damaged."""
    database_file, backup = Path(database_file), Path(backup)
    problems = problems_of(backup)
    if problems:
        raise StoreError(f"the backup {backup} is damaged too ({problems[0]}); choose another with --from")
    restoring = database_file.with_name(database_file.name + ".restoring")
    copy_database(backup, restoring)  # whole and on disk before anything is moved
    stamp = datetime.fromtimestamp(clock(), timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    kept = None
    for suffix in ("", *COMPANIONS):
        current = database_file.with_name(database_file.name + suffix)
        if current.exists():
            aside = current.with_name(f"{current.name}.damaged-{stamp}")
            os.replace(current, aside)
            kept = kept or aside
    os.replace(restoring, database_file)
    return kept
