import shutil

import pytest

from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace

HAZELNUT_SIZE = (256, 256)  # the sample images are downscaled


@pytest.fixture
def hazelnut_copy(tmp_path, shared_data):
    """A writable copy of the hazelnut test images (the shared data is read-only)."""
    target = tmp_path / "hazelnut"
    shutil.copytree(shared_data / "mvtec_ad" / "hazelnut" / "test", target)
    return target


@pytest.fixture
def workspace(hazelnut_copy):
    ws = Workspace.open(hazelnut_copy)
    scan(ws)
    yield ws
    ws.close()
