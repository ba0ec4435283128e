"""Drive the real window as a reviewer would: keyboard, brush, undo, decisions, reopen."""

import numpy as np
from PySide6.QtCore import QPoint, Qt

from zsad_desktop.app.reviews import final_mask, history
from zsad_desktop.app.workspace import Workspace
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.canvas import Tool
from zsad_desktop.ui.main_window import MainWindow


def _open(qtbot, prefs, folder):
    window = MainWindow(prefs, persist=False)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.open_folder(str(folder))
    qtbot.waitUntil(lambda: window.gallery_model.rowCount() > 0, timeout=60_000)
    return window


def _paint(qtbot, window, points):
    viewport = window.canvas.viewport()
    view_points = [window.canvas.mapFromScene(x, y) for x, y in points]
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=view_points[0])
    for p in view_points[1:]:
        qtbot.mouseMove(viewport, pos=p)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=view_points[-1])


def test_review_loop_end_to_end(qtbot, tiny_prefs, hazelnut_folder):
    window = _open(qtbot, tiny_prefs, hazelnut_folder)
    rows = window.gallery_model.rows
    assert len(rows) == 15 and not any("ground_truth" in r.rel_path for r in rows)
    qtbot.waitUntil(lambda: all(r.score is not None for r in window.gallery_model.rows), timeout=120_000)
    window.reload_gallery()
    scores = [r.score for r in window.gallery_model.rows]
    assert scores == sorted(scores, reverse=True)  # the gallery is sorted by anomaly score

    window.select_row(0)
    qtbot.waitUntil(lambda: window.view is not None and window.view.heatmap is not None, timeout=30_000)
    first = window.view.row.id
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.view.row.id == window.gallery_model.rows[1].id
    qtbot.keyClick(window, Qt.Key.Key_K)
    assert window.view.row.id == first

    # Paint with the brush, then undo it with Ctrl+Z: the mask is back to the proposal.
    window.panel.threshold.setValue(100)  # proposal: (almost) nothing above the top of the scale
    window.set_tool(Tool.BRUSH)
    before = window.editor.mask.copy()
    _paint(qtbot, window, [(60, 60), (90, 70), (120, 80)])
    painted = window.editor.mask.copy()
    assert painted.sum() > before.sum() + 100
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(window.editor.mask, before)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_array_equal(window.editor.mask, painted)

    # Accept (A) the edited mask: saved as a correction, the proposal kept beside it; the window moves on.
    qtbot.keyClick(window, Qt.Key.Key_A)
    second = window.view.row.id
    assert second != first
    qtbot.keyClick(window, Qt.Key.Key_N)  # mark the next one normal
    third = window.view.row.id
    _paint(qtbot, window, [(30, 30), (40, 40)])  # an edit left without a decision is autosaved
    window.close()

    workspace = Workspace.open(hazelnut_folder)
    assert workspace.image(first).status is ReviewStatus.CORRECTED
    np.testing.assert_array_equal(final_mask(workspace, first), painted)
    assert workspace.image(second).status is ReviewStatus.NORMAL
    assert workspace.image(third).status is ReviewStatus.CORRECTED
    assert [h.reviewer for h in history(workspace, first)] == ["tester"]
    workspace.close()

    # Reopen the window: the reviews are there, and cached predictions are not recomputed.
    again = _open(qtbot, tiny_prefs, hazelnut_folder)
    statuses = {r.id: r.status for r in again.gallery_model.rows}
    assert statuses[first] is ReviewStatus.CORRECTED and statuses[second] is ReviewStatus.NORMAL
    assert all(r.score is not None for r in again.gallery_model.rows)
    again.close()


def test_missing_weights_show_a_banner_not_a_traceback(qtbot, tiny_prefs, hazelnut_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path / "no-models"))
    tiny_prefs.detector.model_name, tiny_prefs.detector.pretrained = "ViT-L-14-336", "openai"
    window = _open(qtbot, tiny_prefs, hazelnut_folder)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=60_000)
    assert "ViT-L-14-336px.pt" in window.banner.text() and "Traceback" not in window.banner.text()
    assert window.gallery_model.rowCount() == 15  # the folder is still there to review
    window.close()
