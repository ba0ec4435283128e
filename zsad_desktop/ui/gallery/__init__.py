"""The gallery of a folder's images: paged rows, thumbnails, filters and sorting."""

from zsad_desktop.ui.gallery.gallery_panel import GalleryPanel

__all__ = ["GalleryPanel"]
