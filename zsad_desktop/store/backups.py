"""Copies of a SQLite review database, made with SQLite's online backup API.

The backup API copies a consistent snapshot while the application keeps
writing. A copy is written under a temporary name, flushed to disk and then
renamed, so `backups/` only ever holds whole copies; a kill mid-copy leaves a
`.partial` file that the next backup sweeps. Names carry the time and why the
copy was made: `reviews-20260301T101500Z-daily.sqlite`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

BACKUPS_DIR = "backups"
KEEP = 7  # copies of each kind
DAY_S = 24 * 3600
KINDS = ("daily", "migration", "manual")
_STAMP = "%Y%m%dT%H%M%SZ"
_PARTIAL = ".partial"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backup:
    path: Path
    at: datetime
    kind: str


def backups_dir(database_file: Path) -> Path:
    return Path(database_file).parent / BACKUPS_DIR


def list_backups(folder: Path) -> list[Backup]:
    """Whole copies in `folder`, newest first."""
    found = []
    for path in folder.glob("reviews-*.sqlite") if folder.is_dir() else ():
        parts = path.stem.split("-")
        if len(parts) < 3 or parts[-1] not in KINDS:
            continue
        try:
            at = datetime.strptime(parts[1], _STAMP).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        found.append(Backup(path, at, parts[-1]))
    return sorted(found, key=lambda b: (b.at, b.path.name), reverse=True)


def _fsync(path: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return  # Windows cannot open a folder; its rename is durable enough
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of `source` at `target` (written beside it first, then renamed into place)."""
    partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}{_PARTIAL}")
    partial.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(source, timeout=30)) as reader:
            with contextlib.closing(sqlite3.connect(partial)) as writer:
                reader.backup(writer)
                writer.execute("PRAGMA journal_mode=DELETE")  # a copy is one file, never a WAL pair
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def make_backup(
    database_file: Path, kind: str, keep: int = KEEP, clock: Callable[[], float] = time.time
) -> Path:
    """Copy the database into its `backups/`, keeping the newest `keep` copies of this kind."""
    folder = backups_dir(database_file)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"*{_PARTIAL}"):  # left by a copy that was killed
        if time.time() - stale.stat().st_mtime > 60:
            stale.unlink(missing_ok=True)
    stamp = datetime.fromtimestamp(clock(), timezone.utc).strftime(_STAMP)
    target = folder / f"reviews-{stamp}-{kind}.sqlite"
    number = 1
    while target.exists():  # two copies in one second (a migration right after a daily copy)
        number += 1
        target = folder / f"reviews-{stamp}-{number}-{kind}.sqlite"
    copy_database(Path(database_file), target)
    for old in [b for b in list_backups(folder) if b.kind == kind][keep:]:
        old.path.unlink(missing_ok=True)
    return target


def problems_of(path: Path, quick: bool = False) -> list[str]:
    """SQLite's own check of a database file: [] when it is whole."""
    try:
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as connection:
            rows = connection.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check").fetchall()
    except sqlite3.Error as error:
        return [str(error)]
    return [] if rows == [("ok",)] else [row[0] for row in rows]


def newest_good_backup(folder: Path) -> Backup | None:
    for backup in list_backups(folder):
        if not problems_of(backup.path, quick=True):
            return backup
    return None


class DailyBackups:
    """At most one copy a day while reviews change; `clock` and `keep` may be set (tests, settings).

    The copy is made on a thread of its own: the change that makes it due may be a reviewer's
    decision in the window, which must not wait for a copy of a large database. `wait` joins it."""

    def __init__(self, database_file: Path, keep: int = KEEP, clock: Callable[[], float] = time.time):
        self.database_file = Path(database_file)
        self.keep = keep
        self.clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._copying: threading.Thread | None = None
        self.newest: Path | None = None  # the last copy made

    def reviews_changed(self) -> bool:
        """Start the day's copy if none was made in the last day (True), else do nothing (False).
        A copy that cannot be written is logged and tried again at the next change: the review is saved."""
        with self._lock:
            now = self.clock()
            if self._last is None:
                daily = [b for b in list_backups(backups_dir(self.database_file)) if b.kind == "daily"]
                self._last = daily[0].at.timestamp() if daily else float("-inf")
            if (now - self._last < DAY_S and now >= self._last) or self._copying is not None:
                return False
            previous, self._last = self._last, now
            self._copying = threading.Thread(
                target=self._copy, args=(now, previous), name="daily-backup", daemon=True
            )
            self._copying.start()
            return True

    def _copy(self, now: float, previous: float) -> None:
        try:
            self.newest = make_backup(self.database_file, "daily", self.keep, lambda: now)
        except (OSError, sqlite3.Error) as error:
            log.warning("the daily backup of %s could not be written: %s", self.database_file, error)
            with self._lock:
                self._last = previous  # due again at the next change
        finally:
            with self._lock:
                self._copying = None

    def wait(self, timeout: float | None = None) -> None:
        """Until a copy under way is written (closing a database, tests)."""
        copying = self._copying
        if copying is not None:
            copying.join(timeout)
