"""Scene items that draw the viewer model's heatmap and masks, tile by tile like the image.

Opacity and visibility are item properties, so moving the opacity slider
repaints without recolouring. The reviewer's mask redoes only the tiles an
edit changed (plus a pixel for the outline), so a brush dab on a large
radiograph costs what the dab covers. Zoomed out, heat and masks are reduced
by their maximum: a small hot spot or a thin region stays visible.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage, QTransform, qRgba

from zsad_desktop.imaging.overlay import colourise
from zsad_desktop.ui.viewer.qimages import rgb_to_qimage
from zsad_desktop.ui.viewer.tiled_image_item import TileContent, TiledLayerItem

OUTLINE = np.ones((3, 3), np.uint8)


def mask_qimage(mask: np.ndarray, rgb: tuple[int, int, int], fill_alpha: int) -> QImage:
    """A translucent fill with an opaque outline, so the edge stays visible over any heatmap.

    An indexed image (0 outside, 1 fill, 2 outline) costs one byte a pixel and a
    few array operations to build, even for a large radiograph.
    """
    inside = np.ascontiguousarray(mask, dtype=np.uint8)
    edge = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, OUTLINE) & inside
    index = np.ascontiguousarray(inside + edge)
    h, w = index.shape
    image = QImage(index.data, w, h, w, QImage.Format.Format_Indexed8)
    image.setColorTable([qRgba(0, 0, 0, 0), qRgba(*rgb, fill_alpha), qRgba(*rgb, 255)])
    return image.copy()  # own the pixels: `index` is freed after this


class HeatmapTiles(TileContent):
    how = "max"

    def __init__(self, colour_map: str) -> None:
        self.colour_map = colour_map

    def image(self, level: np.ndarray, x: int, y: int, w: int, h: int) -> QImage:
        return rgb_to_qimage(colourise(level[y : y + h, x : x + w], self.colour_map))


class MaskTiles(TileContent):
    how = "max"
    context = 1  # the outline looks at each pixel's neighbours

    def __init__(self, rgb: tuple[int, int, int], fill_alpha: int) -> None:
        self.rgb, self.fill_alpha = rgb, fill_alpha

    def image(self, level: np.ndarray, x: int, y: int, w: int, h: int) -> QImage:
        x0, y0 = (
            max(0, x - 1),
            max(0, y - 1),
        )  # one pixel of the neighbours, so the outline is right at tile edges
        block = level[y0 : y + h + 1, x0 : x + w + 1]
        return mask_qimage(block, self.rgb, self.fill_alpha).copy(x - x0, y - y0, w, h)


class HeatmapItem(TiledLayerItem):
    def __init__(self) -> None:
        super().__init__(HeatmapTiles("jet"))
        self._heatmap: np.ndarray | None = None

    def set_heatmap(
        self, display01: np.ndarray | None, colour_map: str, covers: tuple[int, int] | None = None
    ) -> None:
        """`covers`: the (height, width) of the image under it, where the map is a reduced one (a very large image)."""
        if display01 is not None:
            h, w = display01.shape[:2]
            height, width = covers or (h, w)
            self.setTransform(QTransform.fromScale(width / w, height / h))
        if display01 is self._heatmap and colour_map == self.content.colour_map:
            return  # nothing to recolour (an opacity or visibility change)
        if colour_map != self.content.colour_map:
            self.set_content(HeatmapTiles(colour_map))  # the reduced levels stay: only tiles are recoloured
        if display01 is not self._heatmap:
            self._heatmap = display01
            self.set_array(display01)


class MaskItem(TiledLayerItem):
    """A bool mask drawn in one colour; `fill_alpha` 0 draws only the outline."""

    def __init__(self, rgb: tuple[int, int, int], fill_alpha: int = 255) -> None:
        super().__init__(MaskTiles(rgb, fill_alpha))
        self.rgb = rgb
        self.fill_alpha = fill_alpha

    def set_mask(self, mask: np.ndarray | None) -> None:
        self.set_array(mask)
