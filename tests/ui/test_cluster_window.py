"""The window and the cluster: File > Score on a Ray cluster runs as a job with its own bar, and
predictions another process stores appear in the gallery without reopening the folder."""

from __future__ import annotations

import threading

import numpy as np

from zsad_desktop.app.cluster.cluster_run import ClusterProgress, ClusterResult
from zsad_desktop.app.prediction.workspace_predictions import prediction_key, store_prediction
from zsad_desktop.app.training import model_versions
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.detection.interface import Detection


def test_predictions_stored_elsewhere_appear_as_they_land(qtbot, open_window, tiny_prefs, hazelnut_folder):
    window = open_window(tiny_prefs, hazelnut_folder, predicted=True)
    window.watcher.timer.setInterval(50)
    target = window.gallery_model.rows[-1]
    # Another machine's run: its own connection to the same database, a newer model made active.
    elsewhere = Workspace.open(hazelnut_folder)
    model_versions.register_version(
        elsewhere, "cluster-model@112", "baseline", {"image_size": 112}, activate=True
    )
    key = prediction_key(elsewhere, target.id, "cluster-model@112")
    store_prediction(
        elsewhere, target.id, Detection(0.987, np.zeros((8, 8), np.float32), "cluster-model@112"), key
    )
    elsewhere.close()

    qtbot.waitUntil(lambda: window.gallery_model.row(target.id).score == 0.987, timeout=20_000)
    assert window.gallery_model.rows[0].id == target.id  # ordered by the new scores: the only one scored


def test_the_file_menu_scores_on_a_cluster_with_its_own_job_bar(
    qtbot, open_window, tiny_prefs, hazelnut_folder, monkeypatch
):
    import zsad_desktop.ui.cluster.cluster_controller as controller

    window = open_window(tiny_prefs, hazelnut_folder)
    release, asked = threading.Event(), []

    def fake_cluster_work(workspace, settings, address, on_progress):
        asked.append((workspace, settings.model_name, address))

        def work(progress, cancel):
            on_progress(ClusterProgress(3, 1, 10, 2.5, 2.8, 2))
            release.wait(30)
            return ClusterResult(model_id="m", scored=9, failed=[], seconds=4.0)

        return work

    monkeypatch.setattr(controller, "cluster_work", fake_cluster_work)
    action = next(a for a in window.menus["File"].actions() if "cluster" in a.text().lower())
    monkeypatch.setattr(
        controller.QInputDialog, "getText", lambda *args, **kwargs: ("ray://head:10001", True)
    )
    action.trigger()

    qtbot.waitUntil(lambda: window.cluster.bar.isVisible(), timeout=10_000)
    assert asked == [(window.session.workspace, tiny_prefs.detector.model_name, "ray://head:10001")]
    assert "3/10 images, 2 workers, 1 failed, 2.50 images/s, ETA 3 s" in window.cluster.bar.label.text()
    assert window.cluster.bar.bar.value() == 3 and window.cluster.bar.bar.maximum() == 10
    release.set()
    qtbot.waitUntil(lambda: not window.cluster.bar.isVisible(), timeout=10_000)
    assert "9 images scored" in window.statusBar().currentMessage()


def test_a_remote_cluster_is_refused_for_a_workspace_in_its_own_sqlite_file(
    qtbot, open_window, tiny_prefs, hazelnut_folder
):
    import pytest

    pytest.importorskip("ray")
    window = open_window(tiny_prefs, hazelnut_folder)
    window.cluster.start("ray://head:10001")
    assert window.cluster.job is None
    assert "shared database" in window.banner.label.text()
