"""One loader for every image the detector and the window read.

PNG, JPEG, BMP, TIFF, GIF and WebP (8 and 16 bit, grey, RGBA, palette, CMYK,
EXIF orientation; the first frame of an animated GIF or WebP) and DICOM (with
or without the .dcm suffix) keep their full range in `LoadedImage.pixels`; `to_rgb8` makes the 8-bit RGB view that the
detector and the display use. The format is told by the file's first bytes,
not its name. Whatever goes wrong, the caller gets one `ImageLoadError` with
the path and the reason, so a batch can mark the file and go on.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from zsad_desktop.imaging import dicom, photo
from zsad_desktop.imaging.file_names import name_text
from zsad_desktop.imaging.loaded import ImageEntry, ImageInfo, ImageLoadError, LoadedImage
from zsad_desktop.imaging.window import apply_window, percentile_window

__all__ = [
    "IMAGE_SUFFIXES",
    "DICOM_SUFFIXES",
    "ImageEntry",
    "ImageInfo",
    "ImageLoadError",
    "LoadedImage",
    "file_not_found_reason",
    "frame_count",
    "image_info",
    "is_dicom_file",
    "is_image_file",
    "list_image_entries",
    "load_image",
    "read_rgb8",
    "to_rgb8",
]

DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})
IMAGE_SUFFIXES = (
    frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"}) | DICOM_SUFFIXES
)
RASTER_SIGNATURES = (photo.PNG_SIGNATURE, b"\xff\xd8\xff", b"BM", *photo.TIFF_SIGNATURES, b"GIF8", b"RIFF")
HEAD_BYTES = 132  # DICOM's "DICM" sits after a 128-byte preamble


def is_dicom_file(path: Path | str) -> bool:
    """True for a DICOM Part 10 file (the DICM marker), whatever its name."""
    try:
        with open(path, "rb") as handle:
            return handle.read(HEAD_BYTES)[128:] == b"DICM"
    except OSError:
        return False


def is_image_file(path: Path | str) -> bool:
    """Known image suffixes, plus extension-less DICOM files (as PACS exports them, e.g. IM0001)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return True
    return (suffix == "" or suffix[1:].isdigit()) and is_dicom_file(path)  # IM0001, 1.2.840.113619.2.1.1


def load_image(path: Path | str, frame: int | None = None) -> LoadedImage:
    """The image at `path` in its native range; `frame` picks one frame of a multi-frame DICOM."""
    path = Path(path)
    head = _head(path)
    try:
        if _is_dicom(path, head):
            return dicom.load_dicom(path, frame)
        if frame not in (None, 0):
            raise ImageLoadError(path, f"frame {frame} requested, the file has 1")
        pixels, depth = photo.read_photo(path, head)
    except ImageLoadError:
        raise
    except MemoryError:
        raise ImageLoadError(path, "image too large to decode in the memory available") from None
    except Exception as exc:  # noqa: BLE001 - Pillow, OpenCV and tifffile raise many types for bad files
        raise ImageLoadError(path, _reason(exc)) from exc
    return LoadedImage(pixels, depth, "photo", path, label=path.name)


def image_info(path: Path | str) -> ImageInfo:
    """Size, bit depth, modality and frame count from the header, without decoding pixels."""
    path = Path(path)
    head = _head(path)
    try:
        return dicom.dicom_info(path) if _is_dicom(path, head) else photo.photo_info(path, head)
    except ImageLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - as in load_image
        raise ImageLoadError(path, _reason(exc)) from exc


def list_image_entries(path: Path | str) -> list[ImageEntry]:
    """One entry per displayable image in the file: a multi-frame DICOM gives one per frame."""
    path = Path(path)
    head = _head(path)
    if _is_dicom(path, head):
        return dicom.dicom_entries(path)
    image_info(path)  # a file that is no image has no entries: say so now
    return [ImageEntry(path, None, path.name)]


def frame_count(path: Path | str) -> int:
    return image_info(path).frames


def to_rgb8(image: LoadedImage, window: tuple[float, float] | None = None) -> np.ndarray:
    """The (H, W, 3) uint8 view. 8-bit data as stored unless a `window` is given; wider data
    through `window`, else the file's own window (DICOM), else the 0.5-99.5 percentile window."""
    return pixels_to_rgb8(image.pixels, window or image.default_window, forced=window is not None)


def pixels_to_rgb8(
    pixels: np.ndarray, window: tuple[float, float] | None = None, forced: bool = False
) -> np.ndarray:
    """`to_rgb8` of bare pixels: wider than 8 bit through `window` (else the percentile window);
    8-bit data as stored unless `forced`."""
    if pixels.dtype != np.uint8 or forced:
        window = window or percentile_window(pixels)
        pixels = apply_window(pixels, *window)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    return np.ascontiguousarray(pixels[..., :3])


def read_rgb8(path: Path | str, frame: int | None = None) -> np.ndarray:
    return to_rgb8(load_image(path, frame))


def _head(path: Path) -> bytes:
    """The first bytes, and the file-level errors in plain words."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise ImageLoadError(path, "not a file")
        if not stat.S_ISREG(mode):  # opening a pipe named like an image would wait forever
            raise ImageLoadError(path, "not a regular file (a device, pipe or socket)")
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except FileNotFoundError:
        raise ImageLoadError(path, file_not_found_reason(path)) from None
    except (IsADirectoryError, NotADirectoryError):
        raise ImageLoadError(path, "not a file") from None
    except PermissionError:
        raise ImageLoadError(path, "not a file" if path.is_dir() else "permission denied") from None
    except OSError as exc:
        raise ImageLoadError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise ImageLoadError(path, "file is empty")
    return head


def file_not_found_reason(path: Path | str) -> str:
    """Why a listed file cannot be opened: most often a symbolic link whose target is gone."""
    if os.path.islink(path):
        return f"broken symbolic link (its target {name_text(os.readlink(path))} does not exist)"
    return "file not found"


def _is_dicom(path: Path, head: bytes) -> bool:
    """The DICM marker; or a .dcm name on a file without preamble that is no other known format."""
    if head[128:132] == b"DICM":
        return True
    return path.suffix.lower() in DICOM_SUFFIXES and not head.startswith(RASTER_SIGNATURES)


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "truncat" in text.lower() or "failed to read" in text or isinstance(exc, EOFError):
        return f"image data is truncated ({text})"
    return f"not a readable image ({type(exc).__name__}: {text})"
