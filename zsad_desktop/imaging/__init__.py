"""Reading and writing images, masks and overlays (no Qt, no torch)."""

from zsad_desktop.imaging.loader import (
    IMAGE_SUFFIXES,
    ImageInfo,
    ImageLoadError,
    LoadedImage,
    frame_count,
    image_info,
    is_image_file,
    load_image,
    read_rgb8,
    to_rgb8,
)

__all__ = [
    "IMAGE_SUFFIXES", "ImageInfo", "ImageLoadError", "LoadedImage", "frame_count", "image_info", "is_image_file",
    "load_image", "read_rgb8", "to_rgb8",
]
