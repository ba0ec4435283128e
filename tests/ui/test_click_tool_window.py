"""The click tool in the real window: C picks it, clicks land as dots and corrections, the decision
stores the mask and the clicks it took, bad clicks say why in the status bar."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from zsad_desktop.app.review.decisions import current_review, final_mask
from zsad_desktop.app.viewer.effort import Effort
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.settings.shortcuts import clashes
from zsad_desktop.ui.viewer.mask_tools import NEGATIVE_RGB, POSITIVE_RGB, Tool


@pytest.fixture
def window(qtbot, tiny_prefs, hazelnut_folder, open_window):
    window = open_window(tiny_prefs, hazelnut_folder)
    window.select_row(0)
    window.review.settle()
    qtbot.waitUntil(lambda: window.model.editor is not None, timeout=60_000)
    return window


def _click(qtbot, window, x, y, button=Qt.MouseButton.LeftButton, shift=False):
    modifier = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    qtbot.mouseClick(
        window.viewer.viewport(), button, modifier, pos=window.viewer.mapFromScene(QPointF(x, y))
    )
    qtbot.waitUntil(lambda: not window.model.clicks.pending, timeout=30_000)


def test_two_clicks_then_accept_store_the_mask_and_the_clicks(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_C)
    assert window.viewer.tools.tool is Tool.CLICK and window.mask_panel.tool_buttons[Tool.CLICK].isChecked()
    window.model.clear()  # from an empty mask whatever the first look proposed
    image_id = window.review.image_id
    _click(qtbot, window, 60, 60)
    _click(qtbot, window, 190, 180)
    mask = window.model.editor.mask.copy()
    assert mask[60, 60] and mask[180, 190]
    assert [d.brush().color().getRgb()[:3] for d in window.viewer.tools.dots] == [POSITIVE_RGB] * 2
    assert window.mask_panel.edit_buttons["undo"].isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_A)  # the edited mask is saved as a correction
    workspace = window.session.workspace
    assert workspace.image(image_id).status is ReviewStatus.CORRECTED
    np.testing.assert_array_equal(final_mask(workspace, image_id), mask)
    assert Effort.of_row(current_review(workspace, image_id)) == Effort(clicks=2)
    window.review.settle()
    assert window.review.image_id != image_id
    assert window.viewer.tools.dots == []  # the next image starts without clicks
    qtbot.keyClick(window, Qt.Key.Key_Left)
    window.review.settle()
    assert window.review.image_id == image_id
    assert "corrected, 2 actions" in window.review_panel.history.item(0).text()


def test_right_and_shift_clicks_say_not_defect(qtbot, window):
    window.set_tool(Tool.CLICK)
    window.model.clear()
    window.model.paint([(100, 100)], 30)
    window.model.paint([(200, 200)], 10)  # another region, which the clicks leave alone
    _click(qtbot, window, 100, 100, Qt.MouseButton.RightButton)
    assert not window.model.editor.mask[100, 100]
    assert window.model.window.current is not None and window.viewer._window_from is None  # no window drag
    _click(qtbot, window, 110, 110, shift=True)
    assert not window.model.editor.mask[110, 110]
    assert [d.brush().color().getRgb()[:3] for d in window.viewer.tools.dots] == [NEGATIVE_RGB] * 2
    mask = window.model.editor.mask.copy()
    assert mask[200, 200]
    qtbot.keyClick(window, Qt.Key.Key_C, Qt.KeyboardModifier.ShiftModifier)  # clear the clicks
    assert window.viewer.tools.dots == []
    np.testing.assert_array_equal(window.model.editor.mask, mask)  # the mask stays


def test_snap_key_and_a_click_outside_the_image(qtbot, window):
    window.set_tool(Tool.CLICK)
    window.model.clear()
    qtbot.keyClick(window, Qt.Key.Key_T)
    assert "Nothing to snap" in window.statusBar().currentMessage()
    window.viewer.tools.press(QPointF(-20, -20))
    assert "outside the image" in window.statusBar().currentMessage()
    assert not window.model.editor.mask.any() and window.model.clicks.clicks == []
    window.model.paint([(100, 100)], 30)
    qtbot.keyClick(window, Qt.Key.Key_T)
    qtbot.waitUntil(lambda: not window.model.clicks.pending, timeout=30_000)
    assert window.model.effort.snaps == 1 and window.model.effort.brush_strokes == 1


def test_the_new_keys_clash_with_none():
    assert clashes({}) == []
