"""Reading and writing images, masks and overlays (no Qt, no torch)."""

from zsad_desktop.imaging.loaded import ImageEntry, ImageInfo, ImageLoadError, LoadedImage
from zsad_desktop.imaging.loader import (
    DICOM_SUFFIXES,
    IMAGE_SUFFIXES,
    frame_count,
    image_info,
    is_dicom_file,
    is_image_file,
    list_image_entries,
    load_image,
    read_rgb8,
    to_rgb8,
)
from zsad_desktop.imaging.masks import (
    atomic_write,
    connected_regions,
    fill_holes,
    read_mask,
    write_bytes_atomic,
    write_mask_png,
)
from zsad_desktop.imaging.overlay import COLOUR_MAPS, blend, colourise, heatmap_to_png16, png16_to_heatmap
from zsad_desktop.imaging.window import PRESETS, apply_window, full_range_window, percentile_window

__all__ = [
    "COLOUR_MAPS",
    "DICOM_SUFFIXES",
    "IMAGE_SUFFIXES",
    "PRESETS",
    "ImageEntry",
    "ImageInfo",
    "ImageLoadError",
    "LoadedImage",
    "apply_window",
    "atomic_write",
    "blend",
    "colourise",
    "connected_regions",
    "fill_holes",
    "frame_count",
    "full_range_window",
    "heatmap_to_png16",
    "image_info",
    "is_dicom_file",
    "is_image_file",
    "list_image_entries",
    "load_image",
    "percentile_window",
    "png16_to_heatmap",
    "read_mask",
    "read_rgb8",
    "to_rgb8",
    "write_bytes_atomic",
    "write_mask_png",
]
