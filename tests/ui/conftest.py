import shutil

import pytest

from zsad_desktop.app.review_session import DetectorSettings
from zsad_desktop.ui.preferences import Preferences

from tests.conftest import TINY


@pytest.fixture
def hazelnut_folder(tmp_path, shared_data):
    """A writable copy of ../shared/data/mvtec_ad/hazelnut (reviews are stored beside the images)."""
    target = tmp_path / "hazelnut"
    shutil.copytree(shared_data / "mvtec_ad" / "hazelnut", target)
    return target


@pytest.fixture
def tiny_prefs():
    detector = DetectorSettings(model_name=TINY, pretrained="random", image_size=112, device="cpu", object_name="hazelnut")
    return Preferences(detector=detector, reviewer="tester")
