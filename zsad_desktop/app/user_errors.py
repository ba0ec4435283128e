"""The error types whose message is meant for the user as is (no traceback)."""

from __future__ import annotations

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
