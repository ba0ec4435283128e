"""Window fixtures: a writable copy of real MVTec images and settings for the tiny random backbone."""

import shutil

import pytest

from tests.conftest import TINY
from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.settings import AppSettings


@pytest.fixture
def hazelnut_folder(tmp_path, shared_data):
    """A writable copy of ../shared/data/mvtec_ad/hazelnut (reviews are stored beside the images)."""
    target = tmp_path / "hazelnut"
    shutil.copytree(shared_data / "mvtec_ad" / "hazelnut", target)
    return target


@pytest.fixture
def tiny_prefs():
    """AppSettings for the 4-block random ViT at 112 px on the CPU."""
    # normal_memory off: marking an image normal would switch the active model to a memory version in the
    # background, and these tests count predictions and scores of the plain model
    detector = DetectorSettings(
        model_name=TINY,
        pretrained="random",
        image_size=112,
        device="cpu",
        object_name="hazelnut",
        normal_memory=False,
    )
    return AppSettings(detector=detector, reviewer="tester")


@pytest.fixture
def open_window(qtbot):
    """Open a folder in a real window and wait for its gallery (and its predictions if asked); closes the windows at the end."""
    from zsad_desktop.ui.main_window import MainWindow

    windows = []

    def open_(settings, folder, predicted=False):
        window = MainWindow(settings, persist=False)
        qtbot.addWidget(window)
        window.resize(1300, 850)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        window.open_folder(str(folder))
        qtbot.waitUntil(lambda: window.gallery_model.rowCount() > 0, timeout=60_000)
        windows.append(window)
        if predicted:  # every image scored and the display scale settled
            rows = window.gallery_model
            qtbot.waitUntil(
                lambda: (
                    not window.predictions.busy
                    and all(r.score is not None or r.load_error for r in rows.rows)
                ),
                timeout=120_000,
            )
        return window

    yield open_
    for window in windows:
        window.close()


@pytest.fixture
def shown_viewer(qtbot):
    """An ImageViewer on a new ViewerModel with `display` settings, `size` pixels, shown and exposed."""
    from zsad_desktop.app.viewer.viewer_model import DisplaySettings, ViewerModel
    from zsad_desktop.ui.viewer.image_viewer import ImageViewer

    def make(size=(400, 300), **display):
        view = ImageViewer(ViewerModel(DisplaySettings(**display)))
        qtbot.addWidget(view)
        view.resize(*size)
        view.show()
        qtbot.waitExposed(view)
        return view

    return make
