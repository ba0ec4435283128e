"""Settings kept between runs, the settings dialog, changed keys, command-line options, opening folders."""

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent, QKeySequence

from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.settings import AppSettings
from zsad_desktop.app.viewer.viewer_model import DisplaySettings
from zsad_desktop.ui.launch import apply_options
from zsad_desktop.ui.main_window import MainWindow
from zsad_desktop.ui.settings.settings_dialog import SettingsDialog
from zsad_desktop.ui.settings.settings_store import load_settings, save_settings
from zsad_desktop.ui.settings.shortcuts import clashes


@pytest.fixture
def store(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def test_settings_survive_a_restart(store):
    settings = AppSettings(
        detector=DetectorSettings(
            method="crane",
            model_name="ViT-L-14-336",
            device="cpu",
            image_size=336,
            object_name="weld",
            first_look=224,
            precision="float32",
        ),
        prompts_file="/data/prompts.json",
        reviewer="Dr. Ada",
        flag_score=0.7,
        display=DisplaySettings(
            colour_map="inferno", heatmap_opacity=0.3, show_heatmap=False, threshold=0.62, min_region_area=25
        ),
        shortcuts={"normal": "X"},
    )
    settings.add_recent("/data/a")
    settings.add_recent("/data/b")
    save_settings(settings, store)
    loaded = load_settings(QSettings(store.fileName(), QSettings.Format.IniFormat))
    assert loaded == settings
    assert loaded.recent == ["/data/b", "/data/a"]


def test_damaged_or_missing_settings_fall_back_to_defaults(store):
    assert load_settings(store) == AppSettings()
    store.setValue("display/colour_map", "no-such-map")
    store.setValue("detector/image_size", "huge")
    loaded = load_settings(store)
    assert loaded.display == DisplaySettings() and loaded.detector.image_size == DetectorSettings().image_size


def test_prompt_list_goes_to_the_methods_that_read_one():
    settings = AppSettings(prompts_file="/p.json")
    assert settings.detector_settings().extra == {"prompts_file": "/p.json"}
    settings.detector.method = "crane"
    assert "prompts_file" not in settings.detector_settings().extra


def test_dialog_edits_a_copy_and_returns_the_choices(qtbot):
    settings = AppSettings(reviewer="old")
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.device.setCurrentText("cpu")
    dialog.model_name.setText(" ViT-B-16 ")
    dialog.image_size.setValue(224)
    dialog.first_look.setValue(0)
    assert dialog.precision.currentText() == "auto" and "auto:" in dialog.precision.toolTip()
    dialog.precision.setCurrentText("float32")
    dialog.object_name.setText("")
    dialog.prompts_file.setText("/data/prompts.json")
    dialog.reviewer.setText("Ada")
    dialog.flag_score.setValue(0.65)
    dialog.colour_map.setCurrentText("turbo")
    dialog.threshold.setValue(0.7)
    dialog.shortcuts.edits["skip"].setKeySequence(QKeySequence("Ctrl+K"))
    assert settings.reviewer == "old"  # nothing changes before OK
    result = dialog.result_settings()
    assert (result.detector.device, result.detector.model_name, result.detector.image_size) == (
        "cpu",
        "ViT-B-16",
        224,
    )
    assert result.detector.object_name == "object" and result.prompts_file == "/data/prompts.json"
    assert result.detector.first_look == 0 and settings.detector.first_look == 336
    assert result.detector.precision == "float32" and settings.detector.precision == "auto"
    assert (result.reviewer, result.flag_score) == ("Ada", pytest.approx(0.65))
    assert result.display.colour_map == "turbo" and result.display.threshold == pytest.approx(0.7)
    assert result.shortcuts == {"skip": "Ctrl+K"} and dialog.chosen_version is None


def test_changed_keys_drive_the_window_and_clashes_are_found(qtbot, tmp_path):
    window = MainWindow(AppSettings(shortcuts={"normal": "X"}), persist=False)
    qtbot.addWidget(window)
    assert [k.toString() for k in window.actions["normal"].shortcuts()] == ["X"]
    assert [k.toString() for k in window.actions["next"].shortcuts()] == ["Right", "J"]
    assert clashes({"normal": "A"}) == ["A: accept, normal"]
    assert clashes({}) == []


def test_command_line_options_override_the_saved_settings():
    settings = apply_options(
        AppSettings(reviewer="saved"),
        {"device": "cpu", "pretrained": "random", "reviewer": "cli", "image_size": None},
    )
    assert settings.detector.device == "cpu" and settings.detector.pretrained == "random"
    assert settings.reviewer == "cli" and settings.detector.image_size == DetectorSettings().image_size
    with pytest.raises(TypeError, match="unknown option"):
        apply_options(AppSettings(), {"colour": "red"})


def test_drop_a_folder_opens_it_and_it_joins_the_recent_list(qtbot, tmp_path, monkeypatch):
    window = MainWindow(AppSettings(), persist=False)
    qtbot.addWidget(window)
    opened = []
    monkeypatch.setattr(window, "open_folder", opened.append)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(tmp_path / "missing.png")), QUrl.fromLocalFile(str(tmp_path))])
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(drop)
    assert opened == [str(tmp_path)]


def test_opening_a_folder_remembers_it(qtbot, tiny_prefs, hazelnut_folder, open_window):
    window = open_window(tiny_prefs, hazelnut_folder)
    assert window.settings.recent[0] == str(hazelnut_folder.resolve())
    assert [a.text() for a in window.menus["recent"].actions()] == [str(hazelnut_folder.resolve())]
    window.open_folder(str(hazelnut_folder / "no-such-folder"))
    assert window.banner.isVisible() and "no-such-folder" in window.banner.text()
    assert window.session is None and window.gallery_model.rowCount() == 0


def test_run_gui_opens_the_command_line_folder(qtbot, tiny_prefs, hazelnut_folder, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from zsad_desktop.ui import launch, main_window

    monkeypatch.setattr(launch, "load_settings", lambda: tiny_prefs)  # not the user's own settings
    monkeypatch.setattr(main_window, "save_settings", lambda settings: None)
    made = []

    class _Recorded(MainWindow):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(main_window, "MainWindow", _Recorded)
    monkeypatch.setattr(QApplication, "exec", lambda self: 7)  # return at once instead of running the loop
    assert launch.run_gui(str(hazelnut_folder), reviewer="from the command line", device="cpu") == 7
    [window] = made
    qtbot.addWidget(window)
    assert window.isVisible() and window.session is not None
    assert window.session.workspace.folder == hazelnut_folder.resolve()
    assert (
        window.settings.reviewer == "from the command line"
        and window.session.reviewer == "from the command line"
    )
    window.close()


def test_another_detector_in_the_settings_predicts_the_folder_again(
    qtbot, tiny_prefs, hazelnut_folder, open_window, monkeypatch
):
    import copy
    from dataclasses import replace

    from zsad_desktop.ui import main_window

    window = open_window(tiny_prefs, hazelnut_folder, predicted=True)
    first_model = window.session.model_id()
    chosen = copy.deepcopy(window.settings)
    chosen.detector = replace(chosen.detector, object_name="nut")  # another prompt: another model version

    class _Dialog:
        chosen_version = None
        input_changed = False

        def __init__(self, *args):
            pass

        def exec(self):
            return 1

        def result_settings(self):
            return chosen

    monkeypatch.setattr(main_window, "SettingsDialog", _Dialog)
    window.open_settings()
    qtbot.waitUntil(lambda: window.session.model_id() not in (None, first_model), timeout=60_000)
    qtbot.waitUntil(lambda: not window.predictions.busy, timeout=120_000)
    rows = window.session.workspace.images(order="name")
    assert all(r.score is not None for r in rows)  # scores of the new version, all of them
    assert len(list((hazelnut_folder / ".zsad" / "heatmaps").rglob("*.npz"))) == 30


def test_detector_input_tab_stores_the_folders_choice_and_says_it_changed(qtbot, tmp_path):
    from zsad_desktop.app.review.review_session import ReviewSession
    from zsad_desktop.app.review.settings import WorkspaceInputSettings
    from zsad_desktop.app.workspace.detector_input import PERCENTILE, InputChoice, TilingChoice

    alone = SettingsDialog(AppSettings())
    qtbot.addWidget(alone)
    assert not alone.input_tab.isEnabled()  # no folder open: nothing to set
    session = ReviewSession.open(tmp_path, DetectorSettings())
    try:
        dialog = SettingsDialog(AppSettings(), session)
        qtbot.addWidget(dialog)
        assert dialog.input_settings() == WorkspaceInputSettings()  # the defaults of a new folder
        assert not dialog.input_tab.percentile_low.isEnabled()
        dialog.input_tab.input_mode.setCurrentIndex(dialog.input_tab.input_mode.findData(PERCENTILE))
        assert dialog.input_tab.percentile_low.isEnabled()
        dialog.input_tab.percentile_low.setValue(2.0)
        dialog.input_tab.tile_size.setValue(600)
        dialog.input_tab.tile_overlap.setValue(400)  # more than half a tile: held at 300
        dialog.accept()
        assert dialog.input_changed
        stored = WorkspaceInputSettings.of(session.workspace)
        assert stored == WorkspaceInputSettings(
            InputChoice(PERCENTILE, 2.0, 99.5), TilingChoice(True, 600, 300)
        )
        again = SettingsDialog(AppSettings(), session)
        qtbot.addWidget(again)
        assert again.input_settings() == stored  # shown as stored
        again.accept()
        assert not again.input_changed  # OK without a change predicts nothing again
    finally:
        session.close()


def test_another_detector_input_predicts_the_folder_again_and_keeps_the_old(
    qtbot, tiny_prefs, hazelnut_folder, open_window, monkeypatch
):
    from zsad_desktop.app.workspace.detector_input import TilingChoice, set_tiling_choice
    from zsad_desktop.ui import main_window

    window = open_window(tiny_prefs, hazelnut_folder, predicted=True)
    heatmaps = hazelnut_folder / ".zsad" / "heatmaps"
    before = len(list(heatmaps.rglob("*.npz")))  # 256 px images, tiled by 224 px tiles for a 112 px input
    keys = {p.detector_input for p in _predictions(window)}
    assert before > 0 and keys == {"tile:224:28"}

    class _Dialog:
        chosen_version = None
        input_changed = True

        def __init__(self, *args):
            set_tiling_choice(
                window.session.workspace, TilingChoice(enabled=False)
            )  # as the dialog's OK does

        def exec(self):
            return 1

        def result_settings(self):
            return window.settings

    monkeypatch.setattr(main_window, "SettingsDialog", _Dialog)
    window.open_settings()
    qtbot.waitUntil(lambda: len(list(heatmaps.rglob("*.npz"))) == 2 * before, timeout=120_000)
    qtbot.waitUntil(lambda: not window.predictions.busy, timeout=120_000)
    assert {p.detector_input for p in _predictions(window)} == {"tile:224:28", ""}  # the old ones stay
    assert window.review.image_id is not None and window.model.heatmap.raw is not None


def _predictions(window):
    from zsad_desktop.store import Prediction

    with window.session.workspace.database.read() as session:
        return list(session.query(Prediction))


def test_the_chosen_precision_reaches_the_detector():
    from tests.conftest import TINY

    for precision in ("float32", "auto"):
        detector = DetectorSettings(
            model_name=TINY, pretrained="random", image_size=112, device="cpu", precision=precision
        ).build()
        assert detector.execution.precision == precision
