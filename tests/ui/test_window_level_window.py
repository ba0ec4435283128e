"""Window/level in the review window: right-drag, presets, readout, the workspace's window, a large image off the GUI thread."""

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QImage

from tests.imaging.dicom_files import write_dicom
from zsad_desktop.app.viewer.window_level import AUTO, FILE_DEFAULT, WIDE, Window, WindowLevel, current_window
from zsad_desktop.imaging.window import PRESETS, apply_window


def _shown(viewer) -> np.ndarray:
    """The image item's full-size pixels as drawn (grey channel)."""
    image = viewer.image_item.render_level(0).convertToFormat(QImage.Format.Format_RGBA8888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4)[..., 0].copy()


def _right_drag(qtbot, viewer, dx, dy):
    start = viewer.viewport().rect().center()
    qtbot.mousePress(viewer.viewport(), Qt.MouseButton.RightButton, pos=start)
    qtbot.mouseMove(viewer.viewport(), pos=start + QPoint(dx // 2, dy // 2))
    qtbot.mouseMove(viewer.viewport(), pos=start + QPoint(dx, dy))
    qtbot.mouseRelease(viewer.viewport(), Qt.MouseButton.RightButton, pos=start + QPoint(dx, dy))


@pytest.fixture
def plates(tmp_path):
    """Two 16-bit plates: values 10,000..50,000 in a gradient, so every window shows differently."""
    folder = tmp_path / "plates"
    folder.mkdir()
    gradient = np.linspace(10000, 50000, 96 * 128).reshape(96, 128).astype(np.uint16)
    for name, pixels in (("a.png", gradient), ("b.png", gradient[::-1].copy())):
        cv2.imwrite(str(folder / name), pixels)
    return folder, gradient


def test_a_right_drag_rewindows_a_16bit_image_keeps_the_view_and_the_workspace_keeps_the_window(
    qtbot, tiny_prefs, plates, open_window
):
    folder, pixels = plates
    window = open_window(tiny_prefs, folder)
    model, viewer, panel = window.model, window.viewer, window.display_panel
    qtbot.waitUntil(
        lambda: model.image.levels is not None and model.image.levels.pixels.dtype == np.uint16,
        timeout=30_000,
    )
    levels = model.image.levels
    start = model.window.current
    assert (
        levels.kind == WIDE
        and levels.preset == FILE_DEFAULT
        and panel.window_readout.text() == levels.readout()
    )
    viewer.zoom(2.0)
    scale, scroll = viewer.scale_factor, viewer.horizontalScrollBar().value()

    _right_drag(qtbot, viewer, 120, -60)
    expected = levels.dragged(start, 120, -60)
    assert (
        model.window.current == expected and expected.width > start.width and expected.centre < start.centre
    )
    np.testing.assert_array_equal(_shown(viewer), apply_window(pixels, expected.centre, expected.width))
    assert (
        viewer.scale_factor == scale and viewer.horizontalScrollBar().value() == scroll
    )  # zoom and place kept
    assert (
        panel.window_readout.text() == levels.readout() == expected.readout()
        and panel.window_preset.currentIndex() == -1
    )  # "Custom"
    assert current_window(window.session.workspace) == expected

    window.step(1)  # the next plate opens in the reviewer's window
    qtbot.waitUntil(
        lambda: model.image.levels is not levels and model.image.levels is not None, timeout=30_000
    )
    assert model.window.current == expected
    np.testing.assert_array_equal(_shown(viewer), apply_window(pixels[::-1], expected.centre, expected.width))

    window.actions["window_auto"].trigger()  # W
    assert model.image.levels.preset == AUTO and panel.window_preset.currentText() == AUTO
    panel.window_reset.click()
    assert model.image.levels.preset == FILE_DEFAULT and current_window(window.session.workspace) is None


def test_a_ct_slice_offers_the_ct_presets_and_shows_the_chosen_one(qtbot, tiny_prefs, tmp_path, open_window):
    folder = tmp_path / "ct"
    folder.mkdir()
    hu = np.tile(np.linspace(-1000, 1500, 64).round(), (48, 1)).astype(np.float32)  # whole HU, as stored
    write_dicom(folder / "IM0001", hu + 1024, slope=1.0, intercept=-1024.0, window=(40, 80))
    window = open_window(tiny_prefs, folder)
    model, panel = window.model, window.display_panel
    qtbot.waitUntil(lambda: model.image.levels is not None, timeout=30_000)
    combo = panel.window_preset
    assert [combo.itemText(i) for i in range(combo.count())][1 : 1 + len(PRESETS)] == list(PRESETS)
    assert panel.window_readout.text() == "W 80 L 40" and combo.currentText() == FILE_DEFAULT
    combo.textActivated.emit("CT bone")  # as when the reviewer picks it
    assert panel.window_readout.text() == "W 1800 L 400"
    np.testing.assert_array_equal(_shown(window.viewer), apply_window(hu, 400, 1800))  # HU after the rescale
    window.actions["window_next"].trigger()  # L: the preset after bone
    names = model.image.levels.presets()
    assert model.image.levels.preset == names[names.index("CT bone") + 1]


def test_a_large_image_is_rewindowed_while_the_event_loop_keeps_running(qtbot, shown_viewer):
    pixels = np.random.default_rng(0).integers(0, 65536, (8000, 8000), dtype=np.uint16)
    viewer = shown_viewer((600, 400))
    model = viewer.model
    levels = WindowLevel(pixels, 16, WIDE, data_range=(0.0, 65535.0))
    model.show(levels.render(), levels=levels)
    ticks_while_rendering = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks_while_rendering.append(model.window.rendering))
    timer.start(5)
    model.window.set(Window(30000, 8000))
    assert model.window.rendering  # the call returned before the render was done
    preview = viewer.preview_item  # meanwhile a reduced preview through the new window covers the image
    assert preview.isVisible() and preview.pixmap().width() == 1000
    assert preview.mapRectToScene(preview.boundingRect()).width() == pytest.approx(8000)
    qtbot.waitUntil(lambda: not model.window.rendering, timeout=60_000)
    timer.stop()
    assert not preview.isVisible()
    assert sum(ticks_while_rendering) >= 2  # the GUI thread ran its timer while the worker rendered
    assert model.image.pixels8[123, 4567] == apply_window(pixels[123:124, 4567:4568], 30000, 8000)[0, 0]


def test_with_the_current_window_as_detector_input_a_new_window_predicts_the_folder_again(
    qtbot, tiny_prefs, plates, tmp_path, open_window
):
    from sqlalchemy import select

    from zsad_desktop.app.workspace.detector_input import CURRENT_WINDOW, InputChoice, set_input_choice
    from zsad_desktop.app.workspace.workspace import Workspace
    from zsad_desktop.store import Prediction

    folder, _ = plates
    with Workspace.open(folder) as ws:
        set_input_choice(ws, InputChoice(CURRENT_WINDOW))
    window = open_window(tiny_prefs, folder, predicted=True)
    model = window.model
    qtbot.waitUntil(lambda: model.heatmap.raw is not None and model.image.levels is not None, timeout=60_000)

    def keys():
        with window.session.workspace.database.read() as session:
            return sorted(session.scalars(select(Prediction.detector_input)))

    first = keys()
    assert len(first) == 2 and first[0] == first[1] == "file-window"  # no window chosen yet: each file's own
    model.window.set(Window(30000.0, 8000.0))  # a preset or the end of a drag: the reviewer's choice
    qtbot.waitUntil(
        lambda: keys().count("window:30000:8000") == 2 and not window.predictions.busy, timeout=120_000
    )
    qtbot.waitUntil(lambda: model.heatmap.raw is not None, timeout=60_000)  # the on-screen image's new map
    rows = window.gallery_model.rows
    assert len(rows) == 2 and all(r.score is not None for r in rows) and len(keys()) == 4  # the old ones stay
