"""Choosing a model version in the window: the choice is stored at once, its model loads with the next
prediction on the worker thread (the window does not wait for the weights), and a version whose files
are gone is refused before anything changes."""

from __future__ import annotations

import shutil
import threading

import pytest

from tests.conftest import TINY
from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.training import model_versions, retraining
from zsad_desktop.store.errors import StoreError


@pytest.fixture
def session(tmp_path, shared_data):
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(shared_data / "mvtec_ad" / "hazelnut" / "test" / "crack" / "000.png", folder / "a.png")
    session = ReviewSession.open(
        folder, DetectorSettings(model_name=TINY, pretrained="random", image_size=112, device="cpu")
    )
    yield session
    session.workspace.close()


def test_a_chosen_version_loads_its_model_with_the_next_prediction_not_on_the_caller(session, monkeypatch):
    first = session.detector()  # registers and activates v1
    loads: list[str] = []
    original = retraining.detector_for

    def counted(version, device="auto"):
        loads.append(threading.current_thread().name)
        return original(version, device)

    monkeypatch.setattr(retraining, "detector_for", counted)
    session.use_version("v1")
    assert loads == [] and model_versions.active_version(session.workspace).name == "v1"

    built = []
    worker = threading.Thread(target=lambda: built.append(session.detector()), name="worker")
    worker.start()
    worker.join(120)
    assert loads == ["worker"] and built[0] is not first and built[0].model_id == first.model_id
    assert session.detector() is built[0]  # loaded once


def test_a_version_whose_weights_are_gone_is_refused_and_nothing_changes(session, tmp_path):
    session.detector()
    model_versions.register_version(
        session.workspace, "gone-model", "crane", {"model_name": TINY}, checkpoint=str(tmp_path / "gone")
    )
    with pytest.raises(StoreError, match="gone"):
        session.use_version("v2")
    assert model_versions.active_version(session.workspace).name == "v1"
