"""The review loop end to end: drive the real window as a reviewer would and find every review in the database.

Open ../shared/data/mvtec_ad/hazelnut, wait for the tiny backbone's predictions,
step with the keyboard, paint, undo, accept, mark normal, close, reopen.
"""

import numpy as np
from PySide6.QtCore import Qt

from zsad_desktop.app.review.decisions import current_review, final_mask, history, proposal_mask
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.viewer.mask_tools import Tool


def _drag(qtbot, viewer, points, button=Qt.MouseButton.LeftButton):
    viewport = viewer.viewport()
    at = [viewer.mapFromScene(x, y) for x, y in points]
    qtbot.mousePress(viewport, button, pos=at[0])
    for p in at[1:]:
        qtbot.mouseMove(viewport, pos=p)
    qtbot.mouseRelease(viewport, button, pos=at[-1])


def _heatmap_files(folder):
    return sorted(p.name for p in (folder / ".zsad" / "heatmaps").rglob("*.npz"))


def test_review_loop_end_to_end(qtbot, tiny_prefs, hazelnut_folder, open_window):
    window = open_window(tiny_prefs, hazelnut_folder)
    rows = window.gallery_model.rows
    assert len(rows) == 15 and not any("ground_truth" in r.rel_path for r in rows)
    # Predictions stream in; once all are there the gallery settles in score order.
    qtbot.waitUntil(lambda: all(r.score is not None for r in window.gallery_model.rows), timeout=120_000)
    qtbot.waitUntil(lambda: not window.progress.isVisible(), timeout=30_000)
    scores = [r.score for r in window.gallery_model.rows]
    assert scores == sorted(scores, reverse=True)
    assert not window.banner.isVisible()

    window.select_row(0)
    window.review.settle()  # the image is read on a loader thread; wait for it to be on screen
    qtbot.waitUntil(lambda: window.model.heatmap.raw is not None, timeout=30_000)
    first = window.review.image_id
    assert first == window.gallery_model.rows[0].id
    assert window.review_panel.score_label.text() == f"{window.gallery_model.rows[0].score:.4f}"

    # The keyboard steps through the gallery: arrows and J/K.
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.review.image_id == window.gallery_model.rows[1].id
    qtbot.keyClick(window, Qt.Key.Key_J)
    assert window.review.image_id == window.gallery_model.rows[2].id
    qtbot.keyClick(window, Qt.Key.Key_K)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.review.image_id == first

    # Paint with the brush; Ctrl+Z takes the stroke back, Ctrl+Shift+Z redoes it.
    window.mask_panel.threshold.setValue(100)  # a small proposal: the stroke is clearly extra
    qtbot.keyClick(window, Qt.Key.Key_B)
    assert window.viewer.tools.tool is Tool.BRUSH
    window.review.settle()
    assert window.model.image.shape == (256, 256)  # the shared hazelnut images are downsized
    before = window.model.editor.mask.copy()
    _drag(qtbot, window.viewer, [(40, 120), (120, 140), (200, 150)])
    painted = window.model.editor.mask.copy()
    assert painted.sum() > before.sum() + 1000
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(window.model.editor.mask, before)
    qtbot.keyClick(
        window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    np.testing.assert_array_equal(window.model.editor.mask, painted)
    proposal_first = window.model.proposal.data.copy()

    # A on an edited mask saves a correction (the proposal kept beside it) and moves on.
    window.review_panel.note.setPlainText("stroke along the crack")
    qtbot.keyClick(window, Qt.Key.Key_A)
    second = window.review.image_id
    assert second == window.gallery_model.rows[1].id
    window.review.settle()
    accepted_mask = window.model.editor.mask.copy()
    qtbot.keyClick(window, Qt.Key.Key_A)  # unedited: accepted as proposed
    third = window.review.image_id
    qtbot.keyClick(window, Qt.Key.Key_N)  # nothing wrong
    fourth = window.review.image_id
    assert len({first, second, third, fourth}) == 4
    _drag(qtbot, window.viewer, [(60, 60), (90, 90)])  # left without a decision: autosaved
    window.close()

    workspace = Workspace.open(hazelnut_folder)
    try:
        assert workspace.image(first).status is ReviewStatus.CORRECTED
        np.testing.assert_array_equal(final_mask(workspace, first), painted)
        np.testing.assert_array_equal(proposal_mask(workspace, first), proposal_first)
        assert current_review(workspace, first).note == "stroke along the crack"
        assert workspace.image(second).status is ReviewStatus.ACCEPTED
        np.testing.assert_array_equal(final_mask(workspace, second), accepted_mask)
        assert workspace.image(third).status is ReviewStatus.NORMAL and final_mask(workspace, third) is None
        assert workspace.image(fourth).status is ReviewStatus.CORRECTED
        assert [(h.reviewer, h.to_status) for h in history(workspace, first)] == [
            ("tester", ReviewStatus.CORRECTED)
        ]
        assert workspace.counts()[ReviewStatus.UNREVIEWED] == 11
    finally:
        workspace.close()
    heatmaps = _heatmap_files(hazelnut_folder)
    assert len(heatmaps) == 15

    # Reopen: the reviews are there, and the cached predictions are not computed again.
    again = open_window(tiny_prefs, hazelnut_folder)
    qtbot.waitUntil(lambda: all(r.score is not None for r in again.gallery_model.rows), timeout=30_000)
    statuses = {r.id: r.status for r in again.gallery_model.rows}
    assert statuses[first] is ReviewStatus.CORRECTED and statuses[second] is ReviewStatus.ACCEPTED
    assert statuses[third] is ReviewStatus.NORMAL and statuses[fourth] is ReviewStatus.CORRECTED
    again.select_row(again.gallery_model.position(first))
    again.review.settle()
    np.testing.assert_array_equal(again.model.editor.mask, painted)  # the saved mask, not the proposal
    assert "tester" in again.review_panel.history.item(0).text()
    assert _heatmap_files(hazelnut_folder) == heatmaps


def test_missing_weights_show_a_banner_not_a_traceback(
    qtbot, tiny_prefs, hazelnut_folder, tmp_path, monkeypatch, open_window
):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path / "no-models"))
    tiny_prefs.detector.model_name, tiny_prefs.detector.pretrained = "ViT-L-14-336", "openai"
    window = open_window(tiny_prefs, hazelnut_folder)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=60_000)
    assert "ViT-L-14-336px.pt" in window.banner.text() and "Traceback" not in window.banner.text()
    assert window.gallery_model.rowCount() == 15  # the folder is still there to review
    qtbot.waitUntil(lambda: not window.progress.isVisible(), timeout=10_000)  # the queue stopped, once
    window.select_row(3)
    window.review.settle()
    assert window.model.image.pixels8 is not None and window.model.heatmap.raw is None
