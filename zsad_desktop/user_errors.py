"""The error types whose message is meant for the user as is (no traceback)."""

from __future__ import annotations

import importlib

_SOURCES = (
    ("zsad_desktop.detection.interface", "DetectorError"),
    ("zsad_desktop.imaging.loader", "ImageLoadError"),
    ("zsad_desktop.evaluation.datasets", "DatasetError"),
    ("zsad_desktop.store.errors", "StoreError"),
)


def _collect() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [FileNotFoundError, NotADirectoryError]
    for module, name in _SOURCES:
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            pass  # that layer has no user-facing error type (yet)
    return tuple(found)


USER_ERRORS = _collect()
