"""Mask editing in the window: live threshold, proposed regions one by one, polygon and Enter, brush keys."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from zsad_desktop.app.review.decisions import final_mask
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.viewer.mask_tools import Tool


@pytest.fixture
def window(qtbot, tiny_prefs, hazelnut_folder, open_window):
    window = open_window(tiny_prefs, hazelnut_folder, predicted=True)
    window.select_row(0)
    window.review.settle()
    qtbot.waitUntil(lambda: window.model.heatmap.raw is not None, timeout=60_000)
    return window


def test_threshold_slider_updates_proposal_and_regions_live(window):
    shown = window.model.heatmap.display
    window.mask_panel.threshold.setValue(30)
    assert window.model.display.threshold == pytest.approx(0.30)
    np.testing.assert_array_equal(window.model.proposal.data, shown >= 0.30)
    low_area = window.model.proposal.data.sum()
    window.mask_panel.threshold.setValue(90)
    high_area = window.model.proposal.data.sum()
    assert high_area < low_area
    np.testing.assert_array_equal(
        window.model.editor.mask, window.model.proposal.data
    )  # unedited: it follows
    regions = window.model.regions
    assert window.mask_panel.regions.count() == max(1, len(regions))
    assert sum(r.area for r in regions) == high_area
    raw = window.model.heatmap.raw_value(0.9)
    assert f"score {raw:.3g}" in window.mask_panel.threshold_label.text()
    assert window.display_panel.colour_bar.threshold == pytest.approx(0.9)


def test_each_proposed_region_is_removed_and_restored_from_the_list(window):
    window.mask_panel.threshold.setValue(60)
    regions = window.model.regions
    assert len(regions) >= 2, "the tiny random backbone proposes several regions at this threshold"
    item = window.mask_panel.regions.item(1)
    assert item.checkState() == Qt.CheckState.Checked
    item.setCheckState(Qt.CheckState.Unchecked)
    assert not window.model.region_in_mask(1) and window.model.region_in_mask(0)
    assert window.mask_panel.edit_buttons["undo"].isEnabled()
    window.mask_panel.regions.item(1).setCheckState(Qt.CheckState.Checked)
    assert window.model.mask_equals_proposal()
    window.mask_panel.regions.item(0).setCheckState(Qt.CheckState.Unchecked)
    kept = window.model.editor.mask.copy()
    image_id = window.review.image_id
    window.review.decide("accept")  # an edited proposal is saved as a correction
    workspace = window.session.workspace
    assert workspace.image(image_id).status is ReviewStatus.CORRECTED
    np.testing.assert_array_equal(final_mask(workspace, image_id), kept)


def test_polygon_then_enter_closes_it_and_enter_again_saves(qtbot, window):
    window.mask_panel.threshold.setValue(100)
    qtbot.keyClick(window, Qt.Key.Key_P)
    assert (
        window.viewer.tools.tool is Tool.POLYGON and window.mask_panel.tool_buttons[Tool.POLYGON].isChecked()
    )
    image_id = window.review.image_id
    for x, y in [(40, 40), (120, 40), (120, 110), (40, 110)]:
        qtbot.mouseClick(
            window.viewer.viewport(), Qt.MouseButton.LeftButton, pos=window.viewer.mapFromScene(QPointF(x, y))
        )
    qtbot.keyClick(window, Qt.Key.Key_Return)
    assert window.review.image_id == image_id  # the first Enter closes the polygon
    assert window.model.editor.mask[40:111, 40:121].all()
    qtbot.keyClick(window, Qt.Key.Key_Return)  # the second saves the correction and moves on
    assert window.review.image_id != image_id
    assert window.session.workspace.image(image_id).status is ReviewStatus.CORRECTED


def test_brush_keys_fill_clear_and_layer_toggles(qtbot, window):
    tools = window.viewer.tools
    radius = tools.radius
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    assert tools.radius == pytest.approx(radius * 1.25)
    assert f"{2 * tools.radius:.0f} px" in window.mask_panel.brush_label.text()
    qtbot.keyClick(window, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(window, Qt.Key.Key_BracketLeft)
    assert tools.radius == pytest.approx(radius / 1.25)
    qtbot.keyClick(window, Qt.Key.Key_E)
    assert tools.tool is Tool.ERASER

    window.model.clear()
    window.model.add_polygon([(20, 20), (80, 20), (80, 80), (20, 80)])
    window.model.erase([(50, 50)], 6)
    assert not window.model.editor.mask[50, 50]
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.model.editor.mask[50, 50]  # hole filled
    qtbot.keyClick(window, Qt.Key.Key_Backspace, Qt.KeyboardModifier.ControlModifier)
    assert not window.model.editor.mask.any()
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)  # use the proposal again
    assert window.model.mask_equals_proposal()

    assert window.viewer.heatmap_item.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_H)
    assert not window.viewer.heatmap_item.isVisible() and not window.display_panel.show_heatmap.isChecked()
    window.display_panel.show_heatmap.setChecked(True)
    assert window.viewer.heatmap_item.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_O)
    assert not window.viewer.proposal_item.isVisible()


def test_leaving_an_image_saves_its_edit_and_coming_back_shows_it(qtbot, window):
    image_id = window.review.image_id
    window.model.clear()  # an edit whatever the proposal covers (tiled heatmaps of the tiny backbone differ)
    window.model.paint([(30, 200), (90, 210)], 6)
    edited = window.model.editor.mask.copy()
    qtbot.keyClick(window, Qt.Key.Key_Right)
    workspace = window.session.workspace
    assert workspace.image(image_id).status is ReviewStatus.CORRECTED  # saved on leaving, no decision needed
    np.testing.assert_array_equal(final_mask(workspace, image_id), edited)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    window.review.settle()
    assert window.review.image_id == image_id
    np.testing.assert_array_equal(window.model.editor.mask, edited)
    assert not window.model.has_unsaved_edit
    assert "corrected" in window.review_panel.history.item(0).text()
