"""Safe file names for exports: no export can write outside its target folder.

Image paths come from a folder anyone could have filled, and in a shared
database from anyone's rows; they are never used as paths. A relative path
becomes one flat name of letters, digits, `.`, `_` and `-`; every file
written is checked to resolve inside the export folder.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

from zsad_desktop.store.errors import StoreError

MAX_NAME = 150
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: names Windows refuses whatever the suffix
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def safe_name(text: str, fallback: str = "image") -> str:
    """A flat file name (no suffix) from a relative path: folders joined by '__', odd characters '_'."""
    parts = [p for p in PurePosixPath(str(text).replace("\\", "/")).parts if p not in ("", ".", "..", "/")]
    if parts:
        last = parts[-1]
        stem, dot, suffix = last.rpartition(".")
        parts[-1] = stem if dot and stem and len(suffix) <= 5 else last
    name = "__".join(_UNSAFE.sub("_", part) for part in parts)
    name = name.lstrip(".-_") or fallback
    if name.split(".")[0].lower() in _RESERVED:
        name = f"_{name}"
    if len(name) > MAX_NAME:  # keep it unique: the cut-off part goes into a short hash
        name = f"{name[: MAX_NAME - 9]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return name


class UniqueNames:
    """Hands out each safe name once: two sources that sanitise alike get `_2`, `_3`..."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def __call__(self, text: str) -> str:
        base = safe_name(text)
        candidate, index = base, 1
        while candidate.lower() in self._used:  # case-insensitive file systems too
            index += 1
            candidate = f"{base}_{index}"
        self._used.add(candidate.lower())
        return candidate


def inside(target: Path, path: Path) -> Path:
    """`path` resolved, if it lies inside `target`; else StoreError."""
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(Path(target).resolve()):
        raise StoreError(f"refusing to write {path}: outside the export folder {target}")
    return resolved
