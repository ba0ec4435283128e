"""The image on screen: tiled image, heatmap and mask layers, navigator, mask tools, display controls."""

from zsad_desktop.ui.viewer.display_panel import DisplayPanel
from zsad_desktop.ui.viewer.image_viewer import ImageViewer
from zsad_desktop.ui.viewer.mask_panel import MaskPanel
from zsad_desktop.ui.viewer.mask_tools import Tool
from zsad_desktop.ui.viewer.qimages import pixels_to_qimage, rgb_to_qimage

__all__ = ["DisplayPanel", "ImageViewer", "MaskPanel", "Tool", "pixels_to_qimage", "rgb_to_qimage"]
