"""Incremental folder scan: only new or changed files are hashed and read.

A file counts as changed when its size or modification time differs from
what the database has. The content hash ties reviews and predictions to the
pixels, so a renamed or moved file keeps its review. Unreadable files are
recorded with their error and the scan goes on. Files are hashed and read
outside any transaction, by a few threads; each batch is then written in
one short transaction, so a reviewer saving a decision meanwhile waits
milliseconds, not the whole scan.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_mode
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, literal, select, update

from zsad_desktop.app.workspace.workspace import DATA_DIR, Workspace
from zsad_desktop.imaging import IMAGE_SUFFIXES, ImageLoadError, image_info, is_image_file
from zsad_desktop.imaging.file_names import name_text
from zsad_desktop.store import Image, Review, ReviewStatus

COMMIT_EVERY = 1000
READ_THREADS = min(8, os.cpu_count() or 1)
#: dataset folders of ground-truth masks (MVTec AD, BTAD): labels, not images to review
MASK_FOLDERS = frozenset({"ground_truth", "masks"})

Progress = Callable[[int, int], None]
UNREVIEWED = literal(ReviewStatus.UNREVIEWED, Image.__table__.c.review_status.type)


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


@dataclass
class _Known:
    """What the database has of one file: the ids of its rows (one per frame)."""

    ids: list[int]
    size: int
    mtime_ns: int
    missing: bool


def content_hash(path: Path | str) -> str:
    with open(path, "rb") as handle:
        if sys.version_info >= (3, 11):
            return hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=20)).hexdigest()
        digest = hashlib.blake2b(digest_size=20)  # Python 3.10: the same digest, read in chunks
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
        return digest.hexdigest()


def walk_images(folder: Path, cancel: threading.Event | None = None) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, stat) of every image below `folder`, skipping hidden and `.zsad`
    folders, ground-truth mask folders and symlinked folders (no loops). An entry named like an
    image that is no regular file (a broken symbolic link) comes with its own, unfollowed stat."""
    stack = [str(folder)]
    prefix = len(str(folder)) + 1
    while stack:
        if cancel is not None and cancel.is_set():
            return
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name == DATA_DIR:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in MASK_FOLDERS:
                        stack.append(entry.path)
                elif entry.is_file():
                    if _is_image(entry.name, entry.path):
                        yield entry.path[prefix:].replace(os.sep, "/"), entry.stat()
                elif _has_image_suffix(entry.name):  # a broken link, a pipe: listed, so that it is reported
                    yield entry.path[prefix:].replace(os.sep, "/"), entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished or unreadable entry: the next scan sees it again


def _is_image(name: str, path: str) -> bool:
    # The suffix decides for nearly every file without building a Path (a rescan of 100,000 files
    # spends most of its time here); suffix-less files may be DICOM, which only the loader can tell.
    return _has_image_suffix(name) or is_image_file(Path(path))


def _has_image_suffix(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def _describe(folder: Path, rel_path: str, stat: os.stat_result) -> tuple[dict[str, Any], str | None]:
    """Row fields of a new or changed file, and the problem to report if it cannot be read."""
    path = folder / rel_path
    fields: dict[str, Any] = {
        "size_bytes": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "missing": False,
        "load_error": None,
        "content_hash": None,
        "width": None,
        "height": None,
        "bit_depth": None,
        "modality": None,
        "frames": 1,
        "label": None,
    }
    try:
        if not stat_mode.S_ISREG(stat.st_mode):
            image_info(path)  # says why (a broken link, a pipe) without opening it
        fields["content_hash"] = content_hash(path)
        info = image_info(path)
        fields.update(
            width=info.width,
            height=info.height,
            bit_depth=info.bit_depth,
            modality=info.modality,
            frames=info.frames,
            label=info.label or None,
        )
    except ImageLoadError as error:
        fields["load_error"] = error.reason
        return fields, str(error)
    except OSError as error:
        fields["load_error"] = error.strerror or str(error)
        return fields, f"{name_text(str(path))}: {fields['load_error']}"
    return fields, None


def scan(
    workspace: Workspace, progress: Progress | None = None, cancel: threading.Event | None = None
) -> ScanReport:
    """Bring the image table up to date with the folder. `progress(done, total)` counts files
    hashed; a set `cancel` stops after the current batch (what was written stays)."""
    report = ScanReport()
    known: dict[str, _Known] = {}
    with workspace.database.read() as session:
        for rel, id_, size, mtime, missing in session.connection().execute(
            select(Image.rel_path, Image.id, Image.size_bytes, Image.mtime_ns, Image.missing)
        ):
            entry = known.get(rel)
            if entry is None:
                known[rel] = _Known([id_], size, mtime, missing)
            else:  # another frame of the same file
                entry.ids.append(id_)
                entry.missing = entry.missing and missing
    pending: list[tuple[str, os.stat_result]] = []
    returned: list[int] = []
    seen: set[str] = set()
    for rel_path, stat in walk_images(workspace.folder, cancel):
        seen.add(rel_path)
        previous = known.get(rel_path)
        if previous and previous.size == stat.st_size and previous.mtime_ns == stat.st_mtime_ns:
            report.unchanged += 1
            if previous.missing:
                returned.extend(previous.ids)
        else:
            pending.append((rel_path, stat))
    if cancel is not None and cancel.is_set():
        report.cancelled = True
        return report
    total = len(pending)
    if progress is not None:
        progress(0, total)
    with ThreadPoolExecutor(READ_THREADS, thread_name_prefix="scan") as pool:
        for start in range(0, total, COMMIT_EVERY):
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                return report
            batch = pending[start : start + COMMIT_EVERY]
            described = list(pool.map(lambda item: (item[0], *_describe(workspace.folder, *item)), batch))
            _write_batch(workspace, described, report)
            if progress is not None:
                progress(start + len(batch), total)
    gone = [id_ for rel, entry in known.items() if rel not in seen and not entry.missing for id_ in entry.ids]
    _set_missing(workspace, returned, False)
    _set_missing(workspace, gone, True)
    report.missing = len(gone)
    if report.added or report.changed or report.missing:
        workspace.database.analyze()
    return report


def _frame_rows(rel_path: str, fields: dict[str, Any]) -> dict[int | None, dict[str, Any]]:
    """The image rows of one file, by frame: one for most files, one per frame of a multi-frame DICOM,
    each frame with its own content hash so that it is reviewed and predicted on its own."""
    frames = fields["frames"] or 1
    if frames == 1 or fields["content_hash"] is None:
        return {None: {"rel_path": rel_path, "frame": None, **fields}}
    return {
        index: {
            "rel_path": rel_path,
            **fields,
            "frame": index,
            "content_hash": f"{fields['content_hash']}:{index}",
            "label": f"{fields['label']} frame {index + 1}" if fields["label"] else None,
        }
        for index in range(frames)
    }


def _write_batch(
    workspace: Workspace, described: list[tuple[str, dict[str, Any], str | None]], report: ScanReport
) -> None:
    paths = [rel for rel, _, _ in described]
    with workspace.database.session() as session:
        # Looked up under the write lock: a second copy scanning the same folder may have added some.
        existing: dict[tuple[str, int | None], int] = {
            (rel, frame): id_
            for rel, frame, id_ in session.execute(
                select(Image.rel_path, Image.frame, Image.id).where(Image.rel_path.in_(paths))
            )
        }
        inserts, updates, dropped_frames = [], [], []
        for rel_path, fields, problem in described:
            if problem:
                report.unreadable.append(problem)
            rows = _frame_rows(rel_path, fields)
            had_file = any(key[0] == rel_path for key in existing)
            for frame, row in rows.items():
                id_ = existing.get((rel_path, frame))
                if id_ is None:
                    inserts.append(row)
                else:
                    updates.append({"id": id_, **{k: v for k, v in row.items() if k != "rel_path"}})
            # frames the file no longer has (it was replaced by one with fewer): kept, with their reviews, as missing
            dropped_frames += [
                id_ for (rel, frame), id_ in existing.items() if rel == rel_path and frame not in rows
            ]
            if had_file:
                report.changed += 1
            else:
                report.added += 1
        if inserts:
            session.execute(insert(Image), inserts)
        if updates:
            session.execute(update(Image), updates)
        if dropped_frames:
            session.execute(update(Image).where(Image.id.in_(dropped_frames)).values(missing=True))
        # New pixels may already have a review (a moved or copied file): show its state.
        reviewed = select(Review.status).where(Review.image_hash == Image.content_hash).scalar_subquery()
        session.execute(
            update(Image)
            .where(Image.rel_path.in_(paths), Image.missing.is_(False))
            .values(review_status=func.coalesce(reviewed, UNREVIEWED))
        )


def _set_missing(workspace: Workspace, ids: list[int], missing: bool) -> None:
    for start in range(0, len(ids), COMMIT_EVERY):
        with workspace.database.session() as session:
            session.execute(
                update(Image).where(Image.id.in_(ids[start : start + COMMIT_EVERY])).values(missing=missing)
            )
