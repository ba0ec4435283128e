"""The side panels before and with an image: one-line path and model fields, whole in their tooltips;
no undo before anything can be undone."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from zsad_desktop.ui.review.review_panel import ReviewPanel

MODEL_ID = "crane:ViT-L-14-336:openai@336:0123456789 (first look)"
PATH = "scans/2026/patient-0042/series-3/slice-0117-with-a-long-name.dcm"


def _panel(qtbot, width: int) -> ReviewPanel:
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.resize(width, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.model_label.setText(MODEL_ID)
    panel.path_label.setText(PATH)
    return panel


def test_a_long_model_id_and_path_are_shortened_to_one_line(qtbot):
    panel = _panel(qtbot, 300)
    for label, full in ((panel.model_label, MODEL_ID), (panel.path_label, PATH)):
        shown = QLabel.text(label)  # what is painted
        metrics = label.fontMetrics()
        assert metrics.horizontalAdvance(shown) <= label.contentsRect().width()
        assert label.height() < 2 * metrics.lineSpacing()  # one line, none clipped below it
        assert shown != full and shown.endswith(full[-4:])  # shortened in the middle: the end stays
        assert label.text() == full and label.toolTip() == full
    assert "first look" in panel.model_label.text()


def test_a_wide_panel_shows_the_whole_id(qtbot):
    panel = _panel(qtbot, 1400)
    assert QLabel.text(panel.model_label) == MODEL_ID


def test_undo_and_redo_are_off_before_any_image_is_open(qtbot):
    from zsad_desktop.ui.viewer.mask_panel import MaskPanel

    panel = MaskPanel()
    qtbot.addWidget(panel)
    assert not panel.edit_buttons["undo"].isEnabled() and not panel.edit_buttons["redo"].isEnabled()
