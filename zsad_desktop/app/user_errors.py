"""The error types whose message is meant for the user as is (no traceback), and write errors in words.

A full disk, a folder that became read-only and a network share that went
away are the user's to fix: `user_message` says which in one line. Callers
stop the job where it is, so what was finished stays written.
"""

from __future__ import annotations

import errno
import os

from zsad_desktop.detection.interface import DetectorError
from zsad_desktop.evaluation import DatasetError
from zsad_desktop.imaging import ImageLoadError
from zsad_desktop.store.errors import StoreError

USER_ERRORS: tuple[type[BaseException], ...] = (
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    DetectorError,
    ImageLoadError,
    DatasetError,
    StoreError,
)

FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
#: a share that went away, a disk that failed or was unplugged
GONE = {
    errno.EIO,
    getattr(errno, "ESTALE", errno.EIO),
    getattr(errno, "ENOTCONN", errno.EIO),
    getattr(errno, "EHOSTDOWN", errno.EIO),
    getattr(errno, "EHOSTUNREACH", errno.EIO),
    getattr(errno, "ENODEV", errno.EIO),
    getattr(errno, "ENXIO", errno.EIO),
}


def write_problem(error: BaseException) -> str | None:
    """One line for a write error the user can fix (full disk, read-only folder, share gone), else None."""
    code = getattr(error, "errno", None)
    where = getattr(error, "filename", None)
    if code is None:
        return None
    place = f" writing {os.fsdecode(where)}" if where else ""
    if code in FULL:
        return f"the disk is full{place}: free some space and run it again (what was finished is kept)"
    if code in READ_ONLY:
        return (
            f"cannot write{place}: the folder is read-only or not yours to write "
            "(choose another output, or make it writable; what was finished is kept)"
        )
    if code == errno.ENOENT and where:
        return (
            f"{os.fsdecode(where)} is not there any more (a folder deleted, or a disk or network share "
            "that went away): reconnect it and run it again (what was finished is kept)"
        )
    if code in GONE:
        return (
            f"the disk or network share went away{place} ({os.strerror(code)}): reconnect it and run it "
            "again (what was finished is kept)"
        )
    return None


def user_message(error: BaseException) -> str | None:
    """The message to show instead of a traceback, or None when the error is a bug to report."""
    if isinstance(error, OSError):
        problem = write_problem(error)
        if problem is not None:
            return problem
    if isinstance(error, USER_ERRORS):
        return str(error)
    return None


#: SQLite's words for the same problems (a StoreError carries them)
_SQLITE_WRITE_PROBLEMS = (
    "database or disk is full",
    "attempt to write a readonly database",
    "disk I/O error",
    "unable to open database file",
    "database is locked",
)


def can_be_written_later(error: BaseException) -> bool:
    """A write that failed for a reason the user can fix (full disk, read-only folder, share gone, a
    database locked too long): worth keeping the data in memory and trying again."""
    if isinstance(error, OSError):
        return write_problem(error) is not None
    return isinstance(error, StoreError) and any(words in str(error) for words in _SQLITE_WRITE_PROBLEMS)
