"""Photographs and scans (PNG, JPEG, BMP, TIFF, GIF, WebP) decoded at their full bit depth.

Pillow reads 8-bit files and 16-bit grey PNGs; 16-bit colour PNGs go
through OpenCV (Pillow would cut them to 8 bit) and TIFFs through tifffile (imaging.tiff)
(Pillow again where tifffile lacks the codec, e.g. LZW without imagecodecs).
Transparent pixels are composited on white, as image viewers show them; the
orientation tag is applied; an animated GIF or WebP is its first frame. Images over
`decode_limit` are refused from their header. Decoders raise their own exceptions: `loader`
turns every one of them into an `ImageLoadError`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps

from zsad_desktop.imaging.alpha import on_white
from zsad_desktop.imaging.decode_limit import refuse_if_too_large
from zsad_desktop.imaging.loaded import ImageInfo, ImageLoadError
from zsad_desktop.imaging.orientation import ORIENTATION_TAG, apply_orientation, swaps_sides
from zsad_desktop.imaging.tiff import read_tiff, tiff_info

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, never half an image
Image.MAX_IMAGE_PIXELS = None  # decode_limit's own limit applies, from the header, before decoding

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BAND_PIXELS = 1 << 22  # pixels converted at a time from Pillow's image to the array
TIFF_SIGNATURES = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # classic and BigTIFF, both byte orders


def read_photo(path: Path, head: bytes) -> tuple[np.ndarray, int]:
    """(pixels, bit depth) of a non-DICOM image; `head` is the file's first bytes. Images over
    the decode limit are refused from their header (`decode_limit`)."""
    info = photo_info(path, head)
    refuse_if_too_large(path, info.width, info.height, _format_name(head))
    if head[:4] in TIFF_SIGNATURES:
        return read_tiff(path, _read_with_pillow)
    if head[:8] == PNG_SIGNATURE and _png_bit_depth(head) == 16 and _png_colour_type(head) in (2, 4, 6):
        return _read_colour_png16(path), 16
    pixels = _read_with_pillow(path)
    return pixels, _depth_of(pixels)


def photo_info(path: Path, head: bytes) -> ImageInfo:
    if head[:4] in TIFF_SIGNATURES:
        return tiff_info(path)
    with Image.open(path) as image:
        width, height = image.size
        if swaps_sides(_orientation(image)):
            width, height = height, width
        if image.format == "PNG":
            depth = _png_bit_depth(head)
            depth = 8 if depth < 8 or image.mode == "P" else depth
        else:
            depth = {"I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}.get(image.mode, 8)
    return ImageInfo(int(width), int(height), depth, "photo")


def _format_name(head: bytes) -> str:
    for signature, name in (
        (PNG_SIGNATURE, "PNG"),
        (b"\xff\xd8\xff", "JPEG"),
        (b"BM", "BMP"),
        (b"GIF8", "GIF"),
    ):
        if head.startswith(signature):
            return name
    if head[:4] in TIFF_SIGNATURES:
        return "TIFF"
    return "WebP" if head[8:12] == b"WEBP" else "image"


def _png_bit_depth(head: bytes) -> int:
    return head[24] if len(head) > 25 else 8


def _png_colour_type(head: bytes) -> int:
    return head[25] if len(head) > 25 else 0


def _orientation(image: Image.Image) -> int | None:
    # A PNG keeps EXIF in an optional chunk; asking for it when absent would decode the whole image.
    if image.format == "PNG" and "exif" not in image.info:
        return None
    return image.getexif().get(ORIENTATION_TAG)


def _read_with_pillow(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        image.load()
        if _orientation(image) not in (None, 1):  # exif_transpose copies even when nothing turns
            image = ImageOps.exif_transpose(image)
        return _pillow_to_array(image)


def _pillow_to_array(image: Image.Image) -> np.ndarray:
    """The pixels as an array, converted band by band into the one array returned: a whole-image
    conversion would hold two more copies of a large image at once (18 bytes a pixel for RGB)."""
    rows = max(1, BAND_PIXELS // max(1, image.width))
    if image.height <= rows or image.mode == "I":  # "I" picks its type from the whole image's range
        return _converted(image)
    first = _converted(image.crop((0, 0, image.width, rows)))
    out = np.empty((image.height, *first.shape[1:]), first.dtype)
    out[:rows] = first
    for top in range(rows, image.height, rows):
        bottom = min(top + rows, image.height)
        out[top:bottom] = _converted(image.crop((0, top, image.width, bottom)))
    return out


def _converted(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)  # also turns big-endian I;16B native
    if mode == "I":
        values = np.asarray(image)
        in_range = values.size == 0 or (values.min() >= 0 and values.max() <= 65535)
        return values.astype(np.uint16) if in_range else values.astype(np.float32)
    if mode == "F":
        return np.asarray(image, dtype=np.float32)
    if mode in ("1", "L"):
        return np.asarray(image.convert("L"))
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("LA", "La"):
        grey_alpha = np.asarray(image.convert("LA"))
        return on_white(grey_alpha[..., 0], grey_alpha[..., 1], 255)
    if image.mode in ("RGBA", "RGBa"):
        rgba = np.asarray(image.convert("RGBA"))
        return on_white(rgba[..., :3], rgba[..., 3], 255)
    return np.asarray(image.convert("RGB"))  # RGB, CMYK, YCbCr, LAB, HSV


def _read_colour_png16(path: Path) -> np.ndarray:
    encoded = np.fromfile(path, dtype=np.uint8)  # imdecode, not imread: non-ASCII paths on Windows
    pixels = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ImageLoadError(path, "16-bit PNG is truncated or corrupt")
    if pixels.ndim == 3 and pixels.shape[2] == 2:  # grey and alpha
        pixels = on_white(pixels[..., 0], pixels[..., 1], 65535)
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = on_white(cv2.cvtColor(pixels[..., :3], cv2.COLOR_BGR2RGB), pixels[..., 3], 65535)
    elif pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    with Image.open(path) as image:
        orientation = _orientation(image)
    return np.ascontiguousarray(apply_orientation(pixels.astype(np.uint16), orientation))


def _depth_of(pixels: np.ndarray) -> int:
    return {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(pixels.dtype, 32)
