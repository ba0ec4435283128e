"""Listing a dataset's folders and image files in a stable order, skipping hidden entries (``.ipynb_checkpoints``)."""

from __future__ import annotations

from pathlib import Path

from zsad_desktop.imaging import is_image_file


def visible(path: Path) -> bool:
    return not path.name.startswith(".")


def subfolders(folder: Path) -> list[Path]:
    """Sorted visible subfolders; none when ``folder`` does not exist."""
    return sorted(d for d in folder.iterdir() if d.is_dir() and visible(d)) if folder.is_dir() else []


def image_files(folder: Path) -> list[Path]:
    """Sorted visible files the image loader can open (same rule as the app's folder scan)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and visible(p) and is_image_file(p))
