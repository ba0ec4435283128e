"""The click tool's model is a setting: kept between runs, chosen in the Settings dialog (which says
what SAM would need), and taken by the window; SAM without weights is a one-line status message."""

import pytest
from PySide6.QtCore import QSettings

pytest.importorskip("segment_anything")

from tests.tiny_sam import TINY_SAM, save_tiny_sam  # noqa: E402
from zsad_desktop.app.review.settings import AppSettings  # noqa: E402
from zsad_desktop.detection import sam_click_model  # noqa: E402
from zsad_desktop.ui.main_window import MainWindow  # noqa: E402
from zsad_desktop.ui.settings.settings_dialog import SettingsDialog  # noqa: E402
from zsad_desktop.ui.settings.settings_store import load_settings, save_settings  # noqa: E402


def test_the_click_model_survives_a_restart(tmp_path):
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings = AppSettings(click_model="sam", sam_checkpoint="/weights/sam_vit_l_0b3195.pth")
    save_settings(settings, store)
    loaded = load_settings(QSettings(store.fileName(), QSettings.Format.IniFormat))
    assert (loaded.click_model, loaded.sam_checkpoint) == ("sam", "/weights/sam_vit_l_0b3195.pth")


def test_choosing_sam_without_weights_says_which_file_and_the_window_keeps_edges(
    qtbot, tmp_path, monkeypatch
):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path))
    dialog = SettingsDialog(AppSettings())
    qtbot.addWidget(dialog)
    assert dialog.click_choice.model.currentData() == "edges" and dialog.click_choice.note.text() == ""
    dialog.click_choice.model.setCurrentIndex(dialog.click_choice.model.findData("sam"))
    note = dialog.click_choice.note.text()
    assert "sam_vit_b_01ec64.pth" in note and str(tmp_path / "sam") in note
    assert "needs" in dialog.click_choice.model.itemText(1)
    result = dialog.result_settings()
    assert result.click_model == "sam"
    window = MainWindow(result, persist=False)
    qtbot.addWidget(window)
    assert window.model.clicks.click_model.name == "edges"
    assert window.statusBar().currentMessage() == note


def test_sam_weights_in_models_sam_are_taken_by_the_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path))
    monkeypatch.setitem(sam_click_model.VARIANTS, "vit_b", TINY_SAM)  # the tiny SAM stands in for vit_b
    weights = save_tiny_sam(tmp_path / "sam" / "sam_vit_b_01ec64.pth")
    dialog = SettingsDialog(AppSettings(click_model="sam"))
    qtbot.addWidget(dialog)
    assert dialog.click_choice.note.text() == "" and str(weights) in dialog.click_choice.model.itemText(1)
    window = MainWindow(dialog.result_settings(), persist=False)
    qtbot.addWidget(window)
    chosen = window.model.clicks.click_model
    assert chosen.name == "sam" and chosen.checkpoint == weights
    window._use_click_model()  # the same choice again keeps the loaded model and its embeddings
    assert window.model.clicks.click_model is chosen
