"""A full disk in the window: a banner, the decisions kept in memory and written on Retry; a folder on a
network share says where its reviews are kept."""

import errno
import os
from collections import namedtuple

from PySide6.QtWidgets import QMessageBox

from zsad_desktop.app.review import decisions
from zsad_desktop.app.review.decisions import current_review
from zsad_desktop.store import ReviewStatus


def _full_disk(monkeypatch):
    """record_review fails as on a full disk while `state["full"]`."""
    state = {"full": True}
    original = decisions.record_review

    def record(*args, **kwargs):
        if state["full"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/.zsad/masks/x.png")
        return original(*args, **kwargs)

    monkeypatch.setattr(decisions, "record_review", record)
    return state


def _decide_on_shown(window, qtbot, name):
    window.review.settle()
    qtbot.waitUntil(lambda: window.review.current is not None, timeout=30_000)
    image_id = window.review.image_id
    window.review.decide(name)
    return image_id


def test_decisions_on_a_full_disk_are_kept_and_written_on_retry(
    qtbot, tiny_prefs, hazelnut_folder, open_window, monkeypatch
):
    window = open_window(tiny_prefs, hazelnut_folder)
    state = _full_disk(monkeypatch)
    window.select_row(0)
    first = _decide_on_shown(window, qtbot, "normal")
    assert window.banner.isVisible() and "disk is full" in window.banner.text()
    assert window.banner.text().startswith("1 decision not written yet")
    assert window.banner.action.isVisible() and window.banner.action.text() == "Retry"
    second = _decide_on_shown(window, qtbot, "reject")  # the reviewer carries on
    assert first != second and len(window.session.pending) == 2
    assert "2 decisions" in window.banner.text()
    workspace = window.session.workspace
    assert current_review(workspace, first) is None

    # closing now would lose them: the window asks, and stays open on No
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    assert not window.unwritten_may_be_lost()

    state["full"] = False  # space freed
    window.banner.action.click()
    assert len(window.session.pending) == 0 and not window.banner.isVisible()
    assert current_review(workspace, first).status is ReviewStatus.NORMAL
    assert current_review(workspace, second).status is ReviewStatus.REJECTED
    statuses = {r.id: r.status for r in window.gallery_model.rows}
    assert statuses[first] is ReviewStatus.NORMAL and statuses[second] is ReviewStatus.REJECTED
    assert window.unwritten_may_be_lost()


def test_a_later_decision_on_the_same_image_replaces_the_unwritten_one(
    qtbot, tiny_prefs, hazelnut_folder, open_window, monkeypatch
):
    window = open_window(tiny_prefs, hazelnut_folder)
    state = _full_disk(monkeypatch)
    window.select_row(0)
    image_id = _decide_on_shown(window, qtbot, "normal")
    window.review.show_image(image_id)
    _decide_on_shown(window, qtbot, "reject")
    assert window.session.pending.image_ids() == [image_id]
    state["full"] = False
    window.review.retry_unwritten()
    assert current_review(window.session.workspace, image_id).status is ReviewStatus.REJECTED


Partition = namedtuple("Partition", "device mountpoint fstype opts")


def test_a_folder_on_a_share_says_where_its_reviews_are(
    qtbot, tiny_prefs, hazelnut_folder, open_window, monkeypatch, tmp_path
):
    parts = [Partition("/dev/vda", "/", "ext4", "rw"), Partition("nas:/x", str(hazelnut_folder), "nfs", "rw")]
    monkeypatch.setattr("zsad_desktop.store.filesystems.psutil.disk_partitions", lambda all=False: parts)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    window = open_window(tiny_prefs, hazelnut_folder)
    assert window.banner.isVisible() and "network share (nfs)" in window.banner.text()
    assert "postgresql+psycopg2://" in window.banner.text()
    assert not (hazelnut_folder / ".zsad").exists()

    from zsad_desktop.ui.settings import SettingsDialog

    dialog = SettingsDialog(window.settings, window.session)
    assert str(tmp_path / "home") in dialog.location.text()
    dialog.keep_on_share.setChecked(True)
    assert dialog.result_settings().keep_on_share
