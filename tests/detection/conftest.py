"""Detection fixtures: the text-feature cache goes to a temporary folder, never to models/."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _text_cache_in_tmp(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setenv("ZSAD_CACHE_DIR", str(tmp_path_factory.mktemp("zsad_cache")))
    yield
    patch.undo()
