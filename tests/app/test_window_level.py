"""Window/level without a window: drag maths, presets, auto, the viewer model's re-render, the workspace's window."""

import threading

import cv2
import numpy as np
import pytest

from tests.imaging.dicom_files import write_dicom
from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.viewer.viewer_model import ViewerModel
from zsad_desktop.app.viewer.window_level import (
    AS_STORED,
    AUTO,
    DRAG_PIXELS,
    FILE_DEFAULT,
    FULL_RANGE,
    HOUNSFIELD,
    PHOTO_8BIT,
    WIDE,
    Window,
    WindowChoice,
    WindowLevel,
    chosen_window,
    current_window,
    remember_window,
    render8,
    set_current_window,
)
from zsad_desktop.app.workspace import detector_input
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.imaging import load_image
from zsad_desktop.imaging.window import PRESETS, apply_window


def _ct(tmp_path, window=(40, 80)):
    """A CT slice in HU (stored + intercept -1024): air, brain at 30 HU, bone at 1000 HU."""
    stored = np.full((64, 64), 24, np.int16)  # -1000 HU
    stored[8:56, 8:56] = 1054
    stored[20:30, 20:30] = 2024
    path = write_dicom(tmp_path / "ct.dcm", stored, slope=1.0, intercept=-1024.0, window=window, signed=True)
    return load_image(path)


def _wide(seed=0, shape=(60, 80)):
    """16-bit values around 20,000..30,000 with a few outliers at both ends."""
    pixels = np.random.default_rng(seed).integers(20000, 30001, shape).astype(np.uint16)
    pixels[0, :3] = (0, 65535, 65535)
    return pixels


def test_a_ct_slice_offers_the_ct_presets_and_opens_in_the_files_window(tmp_path):
    levels = WindowLevel.of(_ct(tmp_path, window=(50, 350)))
    assert levels.kind == HOUNSFIELD and levels.data_range == (-1000.0, 1000.0)
    assert levels.presets() == [FILE_DEFAULT, *PRESETS, AUTO, FULL_RANGE]
    assert levels.window == Window(50, 350) and levels.preset == FILE_DEFAULT and levels.choice() is None
    assert levels.use("CT bone") == Window(400, 1800)
    assert levels.use(FULL_RANGE) == Window(0, 2000)  # HU after rescale: the data's own range
    assert levels.choice() == WindowChoice(Window(0, 2000), FULL_RANGE, HOUNSFIELD)


def test_ct_presets_are_not_offered_for_other_wide_images():
    levels = WindowLevel(_wide(), 16, WIDE)
    assert levels.presets() == [FILE_DEFAULT, AUTO, FULL_RANGE]
    with pytest.raises(ValueError, match="no window preset 'CT brain'"):
        levels.use("CT brain")
    assert levels.window_of(FULL_RANGE) == Window(32767.5, 65535)
    # no window in the file: its default is the percentiles, as the loader shows it
    assert levels.window_of(FILE_DEFAULT) == levels.window_of(AUTO)


def test_auto_spans_the_bulk_of_the_values_not_the_outliers():
    auto = WindowLevel(_wide(), 16, WIDE).window_of(AUTO)
    low, high = auto.centre - auto.width / 2, auto.centre + auto.width / 2
    assert 20000 <= low < 20200 and 29800 < high <= 30000  # the 0 and 65535 outliers are clipped, not spanned


def test_an_8bit_photo_opens_as_stored_and_a_window_still_brightens_it():
    dark = np.random.default_rng(1).integers(0, 40, (30, 40, 3)).astype(np.uint8)
    levels = WindowLevel(dark, 8, PHOTO_8BIT)
    assert levels.presets() == [AS_STORED, AUTO] and levels.window is None
    np.testing.assert_array_equal(levels.render(), dark)
    levels.use(AUTO)
    assert levels.render().mean() > 3 * dark.mean()
    assert levels.reset() is None and levels.choice() is None


def test_a_drag_right_widens_and_down_raises_the_level_by_the_data_range(tmp_path):
    levels = WindowLevel.of(_ct(tmp_path))
    step = 2000 / DRAG_PIXELS  # HU per screen pixel: the data range over the drag length
    start = Window(40, 80)
    assert levels.dragged(start, 100, 0) == Window(40, 80 + 100 * step)
    assert levels.dragged(start, 0, 50) == Window(40 + 50 * step, 80)
    assert levels.dragged(start, -30, -20) == Window(40 - 20 * step, 80 - 30 * step)
    assert levels.dragged(start, -10_000, 0).width == 1.0  # never narrower than one HU
    assert levels.dragged(start, 0, 10**6).centre == 3000.0  # the level stops a data range past the top


def test_the_viewer_models_drag_shows_the_image_through_the_dragged_window():
    pixels = _wide()
    model = ViewerModel()
    events, chosen = [], []
    for name in ("image", "image_refresh", "window"):
        model.events.connect(name, lambda n=name: events.append(n))
    model.window.chosen = chosen.append
    levels = WindowLevel(pixels, 16, WIDE)
    model.show(levels.render(), levels=levels)
    start = model.window.current
    events.clear()
    assert model.window.begin_drag() and model.window.drag(200, -100) and model.window.drag(400, -50)
    expected = levels.dragged(start, 400, -50)
    assert (
        model.window.current == expected and expected.width > start.width and expected.centre < start.centre
    )
    np.testing.assert_array_equal(model.image.pixels8, apply_window(pixels, expected.centre, expected.width))
    assert events == ["image_refresh", "image", "window"] * 2 and chosen == []  # kept only when the drag ends
    model.window.end_drag()
    assert chosen == [WindowChoice(expected, "", WIDE)]
    model.window.reset()
    assert chosen[-1] is None and model.window.current == levels.window_of(FILE_DEFAULT)


def test_a_large_image_is_rewindowed_off_the_callers_thread_and_only_the_newest_result_shows(monkeypatch):
    from zsad_desktop.app.viewer import window_control

    monkeypatch.setattr(window_control, "SYNC_RENDER_PIXELS", 100)  # this 60 x 80 image counts as large
    started, gate, rendered, threads = threading.Event(), threading.Event(), [], []

    def slow_first_render(pixels, window):
        if threading.current_thread() is threading.main_thread():
            return render8(pixels, window)  # the reduced preview, on the spot
        rendered.append(window)
        threads.append(threading.current_thread())
        if len(rendered) == 1:
            started.set()
            gate.wait(10)  # the reviewer keeps dragging meanwhile
        return render8(pixels, window)

    monkeypatch.setattr(window_control, "render8", slow_first_render)
    pixels = _wide()
    model = ViewerModel()
    levels = WindowLevel(pixels, 16, WIDE)
    model.show(levels.render(), levels=levels)
    posted = []
    model.window.post = posted.append  # the view's thread would run these; here the test does
    first_view = model.image.pixels8
    model.window.preset(FULL_RANGE)
    assert started.wait(10)
    model.window.preset(AUTO)
    model.window.set(Window(25000, 2000))
    # meanwhile the reduced preview shows the newest window at once (here every 2nd pixel: 60 x 80 > 40)
    monkeypatch.setattr(window_control, "PREVIEW_SIDE", 40)
    model.window.set(Window(25000, 2000))
    assert model.image.preview.shape == (30, 40)  # grey stays one byte a pixel
    np.testing.assert_array_equal(model.image.preview, apply_window(pixels[::2, ::2], 25000, 2000))
    gate.set()
    assert model.window.wait_rendered(10)
    # the first render finished stale and was never delivered; the Auto one was skipped before it started
    assert rendered == [levels.window_of(FULL_RANGE), Window(25000, 2000)] and len(posted) == 1
    assert all(t is not threading.current_thread() for t in threads)
    assert (
        model.image.pixels8 is first_view and model.window.rendering
    )  # nothing shown until the view's thread runs it
    model.window.set(Window(21000, 500))
    assert model.window.wait_rendered(10) and len(posted) == 2
    posted[0]()  # arrives after a newer request: dropped
    assert model.image.pixels8 is first_view
    posted[1]()
    assert not model.window.rendering and model.image.preview is None  # the full view replaces the preview
    np.testing.assert_array_equal(model.image.pixels8, apply_window(pixels, 21000, 500))


def test_the_workspace_keeps_the_window_and_the_detector_input_reads_it(tmp_path):
    ws = Workspace.open(tmp_path)
    try:
        assert current_window(ws) is None and detector_input.current_window(ws) is None
        remember_window(ws, WindowChoice(Window(40, 80), "CT brain", HOUNSFIELD))
        assert chosen_window(ws) == WindowChoice(Window(40, 80), "CT brain", HOUNSFIELD)
        assert current_window(ws) == Window(40, 80) and detector_input.current_window(ws) == (40.0, 80.0)
        set_current_window(ws, (1200, 300))
        assert chosen_window(ws) == WindowChoice(Window(1200, 300))
        ws.set_setting("display_window", [100, 50])  # as scripts and older versions store it
        assert current_window(ws) == Window(100, 50)
        ws.set_setting("display_window", {"centre": 1, "width": -5})  # damaged: no window, no crash
        assert current_window(ws) is None
        set_current_window(ws, None)
        assert chosen_window(ws) is None
    finally:
        ws.close()
    with pytest.raises(ValueError, match="positive width"):
        Window(0, 0)


def test_a_remembered_window_applies_to_images_of_its_kind_only(tmp_path):
    ct = WindowLevel.of(_ct(tmp_path))
    photo = WindowLevel(np.zeros((4, 4), np.uint8), 8, PHOTO_8BIT)
    choice = WindowChoice(Window(400, 1800), "CT bone", HOUNSFIELD)
    ct.follow(choice)
    photo.follow(choice)
    assert ct.window == Window(400, 1800) and ct.preset == "CT bone"
    assert photo.window is None  # an 8-bit photo stays as stored
    other, auto = WindowLevel(_wide(seed=2), 16, WIDE), WindowChoice(Window(1, 1), AUTO, WIDE)
    other.follow(auto)  # Auto is worked out again for each image, not copied
    assert other.window == other.window_of(AUTO) != Window(1, 1)
    anywhere = WindowChoice(
        Window(1000, 500)
    )  # set without an image (a script): every image of more than 8 bits
    for levels in (ct, other, photo):
        levels.follow(anywhere)
    assert ct.window == other.window == Window(1000, 500) and photo.window is None


def test_the_review_session_shows_an_image_through_the_workspaces_window(tmp_path):
    pixels = _wide()
    cv2.imwrite(str(tmp_path / "plate.png"), pixels)
    cv2.imwrite(str(tmp_path / "photo.png"), np.full((8, 8, 3), 90, np.uint8))
    ws = Workspace.open(tmp_path)
    scan(ws)
    session = ReviewSession(ws, DetectorSettings())
    try:
        plate, photo = ws.images(order="name")[1], ws.images(order="name")[0]
        view = session.view(plate.id)
        assert view.pixels.dtype == np.uint16 and view.bit_depth == 16 and view.modality == "photo"
        assert view.kind == WIDE and view.default_window is None
        remember_window(ws, WindowChoice(Window(25000, 4000), "", WIDE))
        view = session.view(plate.id)
        np.testing.assert_array_equal(view.pixels8, apply_window(pixels, 25000, 4000))
        assert view.levels.window == Window(25000, 4000)
        assert (
            session.view(photo.id).pixels8.max() == 90
        )  # the 16-bit window is not forced on the 8-bit photo
        assert session.view(plate.id, window=(20000, 100)).levels.window == Window(20000, 100)
    finally:
        session.close()


def test_grey_images_are_shown_one_byte_a_pixel_and_colour_ones_as_rgb():
    grey = _wide()
    shown = render8(grey, Window(30000, 20000))
    assert shown.shape == grey.shape and shown.dtype == np.uint8
    np.testing.assert_array_equal(shown, apply_window(grey, 30000, 20000))
    colour = np.random.default_rng(2).integers(0, 255, (20, 30, 4), dtype=np.uint8)  # alpha is not shown
    np.testing.assert_array_equal(render8(colour, None), colour[..., :3])
