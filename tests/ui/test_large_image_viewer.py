"""A 12,000 x 9,000 image in the viewer: bounded pixmaps when fitted, true pixels at 1:1, the navigator."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QApplication

from zsad_desktop.app.viewer.image_tiles import TileGrid, level_for_scale, level_shape
from zsad_desktop.detection.interface import NormalisationStats

H, W = 9_000, 12_000


def pattern(h: int, w: int) -> np.ndarray:
    """Every pixel tells where it is: red = x mod 256, green = y mod 256, blue = which 256 px block."""
    x, y = np.arange(w), np.arange(h)
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[..., 0] = (x & 255).astype(np.uint8)[None, :]
    rgb[..., 1] = (y & 255).astype(np.uint8)[:, None]
    rgb[..., 2] = ((x >> 8) * 16).astype(np.uint8)[None, :] + ((y >> 8) * 7).astype(np.uint8)[:, None]
    return rgb


@pytest.fixture(scope="module")
def large_rgb():
    return pattern(H, W)


@pytest.fixture
def viewer(qtbot, shown_viewer, large_rgb):
    view = shown_viewer((800, 600))
    model = view.model
    model.show(large_rgb)
    qtbot.waitUntil(lambda: view.image_item.levels_ready, timeout=30_000)
    return view


def _grab(view) -> np.ndarray:
    image = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def _one_to_one(view) -> None:
    view.actual_size()
    QApplication.processEvents()  # the scroll bars appear, and the viewport shrinks by them


def _visible(view):
    return view.mapToScene(view.viewport().rect()).boundingRect()


def test_the_fitted_view_draws_a_reduced_level_with_a_bounded_number_of_pixmaps(viewer):
    item = viewer.image_item
    _grab(viewer)
    scale = viewer.scale_factor
    level = level_for_scale(scale, item.level_count)
    assert item.last_level == level == 3  # 1,500 x 1,125 pixels for an 800 px wide view
    tiles = len(TileGrid(*reversed(level_shape(H, W, level))).tiles_in(0, 0, W, H))
    # The bound: the tiles of that level (9), the coarse stand-in drawn before it was built and the
    # navigator's thumbnail made again from the real coarsest level: 11, against 432 full-resolution tiles.
    assert item.pixmaps_made <= tiles + 2 == 11
    assert TileGrid(W, H).rows * TileGrid(W, H).columns == 432
    before = item.pixmaps_made
    _grab(viewer)
    assert item.pixmaps_made == before  # drawn again from the cache
    assert not viewer.navigator.isVisible()  # the whole image fits


@pytest.mark.parametrize("corner", ["top left", "bottom right"])
def test_one_to_one_on_a_corner_shows_its_true_pixels(viewer, large_rgb, corner):
    _one_to_one(viewer)
    for bar in (viewer.horizontalScrollBar(), viewer.verticalScrollBar()):
        bar.setValue(bar.minimum() if corner == "top left" else bar.maximum())
    shown = _grab(viewer)
    origin = viewer.mapToScene(QPoint(0, 0))
    x0, y0 = int(origin.x()), int(origin.y())
    assert (x0, y0) == (origin.x(), origin.y())
    assert viewer.image_item.last_level == 0
    h, w = shown.shape[:2]
    if corner == "bottom right":
        assert (x0 + w, y0 + h) == (W, H)  # the last, partial tiles (12,000 = 23 x 512 + 224)
    np.testing.assert_array_equal(shown, large_rgb[y0 : y0 + h, x0 : x0 + w])


def test_zoomed_in_pixels_stay_squares(viewer, large_rgb):
    _one_to_one(viewer)
    viewer.zoom(4.0)
    viewer.centerOn(6_000.5, 4_500.5)
    shown = _grab(viewer)
    origin = viewer.mapToScene(QPoint(0, 0))
    n = 160  # screen pixels compared along each side
    # No smoothing: each screen pixel shows exactly the image pixel under its centre (4 x 4 screen pixels each).
    xs = np.floor(origin.x() + (np.arange(n) + 0.5) / 4).astype(int)
    ys = np.floor(origin.y() + (np.arange(n) + 0.5) / 4).astype(int)
    np.testing.assert_array_equal(shown[:n, :n], large_rgb[ys][:, xs])


def test_the_navigator_follows_panning_and_a_click_recentres_the_view(qtbot, viewer):
    navigator = viewer.navigator
    _one_to_one(viewer)
    assert navigator.isVisible()
    assert navigator.visible_part == _visible(viewer).intersected(viewer.image_item.boundingRect())
    outline = navigator.to_widget(navigator.visible_part)
    bar = viewer.horizontalScrollBar()
    bar.setValue(bar.value() + 3_000)
    assert navigator.visible_part == _visible(viewer)
    moved = navigator.to_widget(navigator.visible_part)
    assert moved.left() - outline.left() == pytest.approx(3_000 * navigator._thumb_rect().width() / W)

    target = QPoint(navigator.width() // 3, navigator.height() // 2)
    wanted = navigator.to_image(QPointF(target))
    qtbot.mouseClick(navigator, Qt.MouseButton.LeftButton, pos=target)
    centre = _visible(viewer).center()
    assert abs(centre.x() - wanted.x()) <= 1 and abs(centre.y() - wanted.y()) <= 1
    assert navigator.visible_part.contains(wanted)

    drag_to = QPointF(navigator.width() * 0.7, navigator.height() * 0.3)
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        drag_to,
        navigator.mapToGlobal(drag_to),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(navigator, move)
    centre = _visible(viewer).center()
    wanted = navigator.to_image(drag_to)
    assert abs(centre.x() - wanted.x()) <= 1 and abs(centre.y() - wanted.y()) <= 1


def test_the_navigator_can_be_switched_off_and_hides_when_the_image_fits(viewer):
    _one_to_one(viewer)
    assert viewer.navigator.isVisible()
    viewer.toggle_navigator()
    assert not viewer.navigator.isVisible()
    viewer.toggle_navigator()
    assert viewer.navigator.isVisible()
    viewer.fit()
    QApplication.processEvents()  # the scroll bars go
    assert not viewer.navigator.isVisible()


def test_a_small_hot_spot_and_a_thin_mask_stay_visible_when_a_large_heatmap_is_fitted(qtbot, shown_viewer):
    h, w = 3_000, 4_000  # above the size whose levels are built at once
    view = shown_viewer(
        (500, 400), heatmap_opacity=1.0, show_proposal=False, show_mask=False, mask_opacity=1.0
    )
    model = view.model
    heat = np.zeros((h, w), np.float32)
    heat[1_500:1_503, 2_000:2_003] = 1.0  # 3 x 3 pixels: a ninth of a screen pixel when fitted
    model.show(
        np.zeros((h, w, 3), np.uint8), heat, NormalisationStats(0.0, 1.0)
    )  # the mask follows the proposal
    view.fit()
    items = (view.image_item, view.heatmap_item, view.mask_item)
    qtbot.waitUntil(lambda: all(item.levels_ready for item in items), timeout=30_000)
    assert view.scale_factor < 1 / 8

    def red_near(x, y):
        at = view.mapFromScene(QPointF(x, y))
        return int(_grab(view)[at.y() - 1 : at.y() + 2, at.x() - 1 : at.x() + 2, 0].max())

    # jet: 1.0 is dark red, 0 dark blue; averaged away (9/64) the spot would be blue without red.
    assert red_near(2_001, 1_501) > 80 and red_near(500, 500) < 20
    model.set_display(show_heatmap=False, show_mask=True)
    assert red_near(2_001, 1_501) > 150 and red_near(500, 500) == 0  # the mask's magenta over the black image
    # A few tiles a layer (the coarse stand-in, then the real level), not the 48 of full resolution.
    assert all(item.pixmaps_made <= 4 for item in items)


def test_v_in_the_window_switches_the_navigator(qtbot, large_rgb):
    from zsad_desktop.app.review.settings import AppSettings
    from zsad_desktop.ui.main_window import MainWindow

    window = MainWindow(AppSettings(), persist=False)
    qtbot.addWidget(window)
    window.resize(1300, 850)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.model.show(large_rgb)
    _one_to_one(window.viewer)
    assert window.viewer.navigator.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_V)
    assert not window.viewer.navigator.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_V)
    assert window.viewer.navigator.isVisible()
    window.close()
