"""One loader for every image the detector and the window read.

PNG, JPEG, BMP and TIFF (8 and 16 bit, grey, RGBA, palette, CMYK, EXIF
orientation) and DICOM keep their full range in `LoadedImage.pixels`;
`to_rgb8` makes the 8-bit RGB view that the detector and the display use.
Whatever goes wrong, the caller gets one `ImageLoadError` with the path and
the reason, so a batch can mark the file and go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from zsad_desktop.imaging.window import apply_window, percentile_window

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, never half an image
Image.MAX_IMAGE_PIXELS = 30_000 * 30_000  # line-scan and wafer images are legitimately huge

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom"})
TIFF_SUFFIXES = frozenset({".tif", ".tiff"})


class ImageLoadError(Exception):
    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass
class LoadedImage:
    pixels: np.ndarray  # (H, W) or (H, W, 3); uint8, uint16, or float32 (DICOM after rescale)
    bit_depth: int
    modality: str  # "photo" or "dicom"
    path: Path
    frame: int | None = None
    label: str = ""
    default_window: tuple[float, float] | None = None  # (centre, width)

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape[:2]


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    bit_depth: int
    modality: str
    frames: int = 1


def is_dicom_file(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def is_image_file(path: Path) -> bool:
    """Known image suffixes, plus extension-less DICOM files (as PACS exports them)."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return True
    return suffix == "" and is_dicom_file(path)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImageLoadError(path, "file not found")
    if not path.is_file():
        raise ImageLoadError(path, "not a file")
    if path.stat().st_size == 0:
        raise ImageLoadError(path, "file is empty")


def load_image(path: Path | str, frame: int | None = None) -> LoadedImage:
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in (".dcm", ".dicom") or is_dicom_file(path):
        from zsad_desktop.imaging.dicom import load_dicom

        return load_dicom(path, frame)
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            pixels = _read_tiff(path)
        else:
            pixels = _read_with_pillow(path)
    except ImageLoadError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, tifffile.TiffFileError) as exc:
        raise ImageLoadError(path, f"not a readable image ({exc})") from None
    bit_depth = 16 if pixels.dtype == np.uint16 else 8
    return LoadedImage(pixels, bit_depth, "photo", path, label=path.name)


def _read_with_pillow(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        if image.format == "PNG" and image.mode in ("I;16", "I;16B", "I", "RGB", "RGBA") and _png_bit_depth(path) == 16:
            return _read_16bit_png(path)
        image.load()
        image = ImageOps.exif_transpose(image)
        return _pillow_to_array(image)


def _png_bit_depth(path: Path) -> int:
    with open(path, "rb") as handle:
        header = handle.read(26)
    return header[24] if len(header) >= 25 else 8


def _read_16bit_png(path: Path) -> np.ndarray:
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ImageLoadError(path, "16-bit PNG could not be decoded")
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels[..., :3], cv2.COLOR_BGR2RGB)
    return pixels.astype(np.uint16)


def _pillow_to_array(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(image, dtype=np.uint16)
    if mode == "I":
        return np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
    if mode == "F":
        return np.asarray(image, dtype=np.float32)
    if mode in ("1", "L"):
        return np.asarray(image.convert("L"))
    if mode == "P":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA"):
        # Transparent areas are shown on white, as viewers do.
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, image.convert("RGBA")).convert("RGB"))
    return np.asarray(image.convert("RGB"))  # RGB, CMYK, YCbCr, LAB, HSV


def _read_tiff(path: Path) -> np.ndarray:
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        pixels = page.asarray()
        photometric = getattr(page, "photometric", None)
    if pixels.ndim == 3 and pixels.shape[0] in (3, 4) and pixels.shape[-1] not in (3, 4):
        pixels = np.moveaxis(pixels, 0, -1)  # planar configuration
    if pixels.ndim == 3:
        if photometric is not None and int(photometric) == 5:  # separated (CMYK)
            with Image.open(path) as image:
                return np.asarray(image.convert("RGB"))
        pixels = pixels[..., :3]
    if pixels.dtype == np.bool_:
        return pixels.astype(np.uint8) * 255
    if pixels.dtype in (np.uint8, np.uint16):
        return pixels
    if np.issubdtype(pixels.dtype, np.floating):
        return pixels.astype(np.float32)
    return np.clip(pixels, 0, 65535).astype(np.uint16)


def to_rgb8(image: LoadedImage, window: tuple[float, float] | None = None) -> np.ndarray:
    """The 8-bit RGB view: 8-bit data as is; wider data through `window`
    (default: the file's window for DICOM, else the 0.5-99.5 percentile window)."""
    pixels = image.pixels
    if pixels.dtype != np.uint8 or window is not None:
        window = window or image.default_window or percentile_window(pixels)
        pixels = apply_window(pixels, *window)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    return np.ascontiguousarray(pixels[..., :3])


def read_rgb8(path: Path | str) -> np.ndarray:
    return to_rgb8(load_image(path))


def image_info(path: Path | str) -> ImageInfo:
    """Size, bit depth, modality and frame count from the header, without decoding pixels."""
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in (".dcm", ".dicom") or is_dicom_file(path):
        from zsad_desktop.imaging.dicom import dicom_info

        return dicom_info(path)
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                shape = page.shape if page.planarconfig != 1 or len(page.shape) < 3 or page.shape[-1] <= 4 else page.shape
                height, width = (shape[1], shape[2]) if len(shape) == 3 and shape[0] in (3, 4) and shape[-1] not in (3, 4) else shape[:2]
                return ImageInfo(int(width), int(height), 16 if page.dtype.itemsize == 2 else 8, "photo")
        with Image.open(path) as image:
            width, height = image.size
            if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):
                width, height = height, width  # shown rotated by a quarter turn
            depth = 16 if image.mode.startswith("I;16") or image.mode == "I" else 8
            if image.format == "PNG" and _png_bit_depth(path) == 16:
                depth = 16
            return ImageInfo(width, height, depth, "photo")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, tifffile.TiffFileError) as exc:
        raise ImageLoadError(path, f"not a readable image ({exc})") from None


def frame_count(path: Path | str) -> int:
    return image_info(path).frames
