"""The viewer on its own: zoom, pan, layers, brush preview, strokes, polygon, partial mask repaint."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage

from zsad_desktop.detection.interface import NormalisationStats
from zsad_desktop.ui.viewer.layer_items import MaskItem
from zsad_desktop.ui.viewer.mask_tools import Tool


@pytest.fixture
def viewer(shown_viewer):
    view = shown_viewer((400, 300), threshold=0.5)
    model = view.model
    heat = np.zeros((120, 160), np.float32)
    heat[20:40, 20:60] = 1.0
    model.show(np.full((120, 160, 3), 90, np.uint8), heat, NormalisationStats(0.0, 1.0))
    view.fit()
    return view


def _drag(qtbot, view, points, button=Qt.MouseButton.LeftButton):
    at = [view.mapFromScene(QPointF(x, y)) for x, y in points]
    qtbot.mousePress(view.viewport(), button, pos=at[0])
    for p in at[1:]:
        qtbot.mouseMove(view.viewport(), pos=p)
    qtbot.mouseRelease(view.viewport(), button, pos=at[-1])


def _wheel(view, steps):
    from PySide6.QtGui import QWheelEvent

    centre = QPointF(view.viewport().rect().center())
    event = QWheelEvent(
        centre,
        view.mapToGlobal(centre.toPoint()).toPointF(),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    view.wheelEvent(event)


def test_fit_one_to_one_and_wheel_zoom(viewer):
    fitted = viewer.scale_factor
    assert fitted == pytest.approx(min(400 / 160, 300 / 120), rel=0.1)  # the whole image in view
    viewer.actual_size()
    assert viewer.scale_factor == 1.0
    _wheel(viewer, 1)
    assert viewer.scale_factor == pytest.approx(1.25)
    _wheel(viewer, -1)
    _wheel(viewer, -1)
    assert viewer.scale_factor == pytest.approx(0.8)
    for _ in range(100):
        viewer.zoom(2.0)
    assert viewer.scale_factor == pytest.approx(64.0)  # bounded


def test_middle_button_pans(qtbot, viewer):
    viewer.actual_size()
    viewer.zoom(8.0)
    bar = viewer.horizontalScrollBar()
    before = bar.value()
    centre = viewer.viewport().rect().center()
    qtbot.mousePress(viewer.viewport(), Qt.MouseButton.MiddleButton, pos=centre)
    qtbot.mouseMove(viewer.viewport(), pos=centre + QPoint(-60, 0))
    qtbot.mouseRelease(viewer.viewport(), Qt.MouseButton.MiddleButton, pos=centre + QPoint(-60, 0))
    assert bar.value() == before + 60
    assert not viewer.model.editor.mask[60, 100]  # panning never paints


def test_layers_follow_the_display_settings(viewer):
    model = viewer.model
    assert viewer.heatmap_item.isVisible() and viewer.heatmap_item.opacity() == pytest.approx(0.45)
    jet = viewer.heatmap_item.render_level(0)
    model.set_display(show_heatmap=False, heatmap_opacity=0.8, mask_opacity=0.2, show_proposal=False)
    assert not viewer.heatmap_item.isVisible() and viewer.heatmap_item.opacity() == pytest.approx(0.8)
    assert viewer.mask_item.opacity() == pytest.approx(0.2) and not viewer.proposal_item.isVisible()
    model.set_display(colour_map="viridis")
    assert viewer.heatmap_item.render_level(0) != jet


def test_brush_with_size_preview_then_eraser(qtbot, viewer):
    tools, model = viewer.tools, viewer.model
    tools.set_tool(Tool.BRUSH)
    tools.set_radius(5)
    tools.move(QPointF(100, 80))  # what a mouse move over the image does (the pointer itself is not needed)
    rect = tools.cursor_item.rect()
    assert (
        tools.cursor_item.isVisible()
        and rect.width() == pytest.approx(10)
        and rect.center().x() == pytest.approx(100, abs=1)
    )
    _drag(qtbot, viewer, [(90, 80), (130, 80)])
    assert model.editor.mask[80, 90:131].all() and model.has_unsaved_edit
    tools.set_tool(Tool.ERASER)
    _drag(qtbot, viewer, [(110, 80)])
    assert not model.editor.mask[80, 108:113].any() and model.editor.mask[80, 95]
    tools.set_tool(Tool.POLYGON)
    assert not tools.cursor_item.isVisible()  # no size preview for tools without a size


def test_polygon_closes_on_finish_and_needs_three_points(qtbot, viewer):
    tools, model = viewer.tools, viewer.model
    tools.set_tool(Tool.POLYGON)
    for x, y in [(100, 60), (150, 60)]:
        qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=viewer.mapFromScene(QPointF(x, y)))
    assert tools.polygon_in_progress and not viewer.finish_polygon()  # two points are not an area
    for x, y in [(100, 60), (150, 60), (150, 100)]:
        qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=viewer.mapFromScene(QPointF(x, y)))
    assert viewer.finish_polygon() and not tools.polygon_in_progress
    assert model.editor.mask[70, 140] and not model.editor.mask[95, 105]


def test_a_window_change_keeps_the_polygon_being_drawn_and_another_image_drops_it(qtbot, viewer):
    from zsad_desktop.app.viewer.window_level import Window

    tools, model = viewer.tools, viewer.model
    tools.set_tool(Tool.POLYGON)
    for x, y in [(20, 20), (60, 20)]:
        qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=viewer.mapFromScene(QPointF(x, y)))
    model.window.set(Window(60.0, 40.0))  # a brighter window mid-polygon, to see the edge better
    assert tools.polygon_in_progress
    qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=viewer.mapFromScene(QPointF(60, 50)))
    assert viewer.finish_polygon() and model.editor.mask[25, 50]
    qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=viewer.mapFromScene(QPointF(100, 100)))
    model.show(np.full((120, 160, 3), 30, np.uint8))
    assert not tools.polygon_in_progress


def test_region_tool_removes_the_region_clicked(qtbot, viewer):
    model = viewer.model
    assert model.editor.mask[30, 40]  # the proposal
    viewer.tools.set_tool(Tool.REGION)
    qtbot.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=viewer.mapFromScene(QPointF(40, 30)))
    assert not model.editor.mask.any()
    assert model.undo() and model.editor.mask[30, 40]


def _pixels(item, level=0) -> np.ndarray:
    image = item.render_level(level).convertToFormat(QImage.Format.Format_RGBA8888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4).copy()


@pytest.mark.parametrize("box", [(30, 40, 20, 40), (0, 60, 5, 5), (60, 0, 30, 31)])
def test_repainting_the_changed_box_matches_a_full_repaint(qtbot, box):
    rng = np.random.default_rng(1)
    mask = rng.random((90, 110)) > 0.6
    # Tiles of 32 px, so the edit crosses tile edges and the outline must match across them.
    partial, full = MaskItem((255, 0, 220), 120), MaskItem((255, 0, 220), 120)
    partial.tile = full.tile = 32
    partial.set_mask(mask)
    before = [_pixels(partial, level) for level in range(partial.level_count)]  # every tile now cached
    top, left, height, width = box
    mask[top : top + height, left : left + width] = True
    mask[top + height // 2, left + width // 2] = False
    partial.update_box(mask, box)
    full.set_mask(mask)
    for level in range(partial.level_count):
        np.testing.assert_array_equal(_pixels(partial, level), _pixels(full, level))
    assert not np.array_equal(before[0], _pixels(full, 0))  # the edit shows
