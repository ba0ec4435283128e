"""Incremental folder scan: only new or changed files are hashed and read.

A file counts as changed when its size or modification time differs from
what the database has. The content hash ties reviews and predictions to the
pixels, so a renamed or moved file keeps its review. Unreadable files are
recorded with their error and the scan goes on.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import select, update

from zsad_desktop.app.workspace import DATA_DIR, Workspace
from zsad_desktop.imaging import ImageLoadError, image_info, is_image_file
from zsad_desktop.store import Image

COMMIT_EVERY = 1000


@dataclass
class ScanReport:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    missing: int = 0
    unreadable: list[str] = field(default_factory=list)
    cancelled: bool = False

    @property
    def total(self) -> int:
        return self.added + self.changed + self.unchanged


def content_hash(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=20)).hexdigest()


#: dataset folders of ground-truth masks (MVTec AD, BTAD): labels, not images to review
MASK_FOLDERS = frozenset({"ground_truth", "masks"})


def walk_images(folder: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, stat) of every image below `folder`, skipping hidden and `.zsad`
    folders and ground-truth mask folders."""
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name == DATA_DIR:
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in MASK_FOLDERS:
                    stack.append(Path(entry.path))
            elif entry.is_file() and is_image_file(Path(entry.path)):
                yield Path(entry.path).relative_to(folder).as_posix(), entry.stat()


def scan(
    workspace: Workspace,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ScanReport:
    report = ScanReport()
    found = list(walk_images(workspace.folder))
    with workspace.database.session() as session:
        known = {row.rel_path: (row.id, row.size_bytes, row.mtime_ns) for row in session.execute(
            select(Image.rel_path, Image.id, Image.size_bytes, Image.mtime_ns))}
    seen: set[str] = set()
    pending: list[tuple[str, os.stat_result, int | None]] = []
    for rel_path, stat in found:
        seen.add(rel_path)
        previous = known.get(rel_path)
        if previous and previous[1] == stat.st_size and previous[2] == stat.st_mtime_ns:
            report.unchanged += 1
        else:
            pending.append((rel_path, stat, previous[0] if previous else None))
    gone = [rel for rel in known if rel not in seen]
    total = len(pending)
    for start in range(0, total, COMMIT_EVERY):
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        with workspace.database.session() as session:
            for rel_path, stat, image_id in pending[start : start + COMMIT_EVERY]:
                fields = _describe(workspace.folder / rel_path, stat, report)
                if image_id is None:
                    session.add(Image(rel_path=rel_path, **fields))
                    report.added += 1
                else:
                    session.execute(update(Image).where(Image.id == image_id).values(**fields))
                    report.changed += 1
        if progress is not None:
            progress(min(total, start + COMMIT_EVERY), total)
    if gone and not report.cancelled:
        with workspace.database.session() as session:
            session.execute(update(Image).where(Image.rel_path.in_(gone)).values(missing=True))
        report.missing = len(gone)
    return report


def _describe(path: Path, stat: os.stat_result, report: ScanReport) -> dict:
    fields = {"size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "missing": False, "load_error": None}
    try:
        fields["content_hash"] = content_hash(path)
        info = image_info(path)
        fields.update(width=info.width, height=info.height, bit_depth=info.bit_depth, modality=info.modality, frames=info.frames)
    except ImageLoadError as error:
        fields["load_error"] = error.reason
        report.unreadable.append(str(error))
    except OSError as error:
        fields.setdefault("content_hash", None)
        fields["load_error"] = error.strerror or str(error)
        report.unreadable.append(f"{path}: {fields['load_error']}")
    return fields
