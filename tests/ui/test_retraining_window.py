"""One click retrains on the reviews; the new version is compared, promoted, then an older one restored."""

import shutil

from tests.conftest import TINY_TEXT768
from zsad_desktop.app.training import model_versions
from zsad_desktop.imaging.masks import read_mask
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.main_window import MainWindow
from zsad_desktop.ui.training import retraining_controller


def test_retrain_compare_promote_restore(qtbot, tiny_prefs, tmp_path, shared_data, monkeypatch):
    source = shared_data / "glass_anomaly" / "glass"
    folder = tmp_path / "glass"
    for kind in (
        "good",
        "angle",
        "edge",
    ):  # a few of each: the folder's own predictions are not under test here
        (folder / "test" / kind).mkdir(parents=True)
        for image in sorted((source / "test" / kind).glob("*.png"))[:6]:
            shutil.copy(image, folder / "test" / kind / image.name)
    tiny_prefs.detector.model_name = TINY_TEXT768
    window = MainWindow(tiny_prefs, persist=False)
    qtbot.addWidget(window)
    window.show()
    window.open_folder(str(folder))
    qtbot.waitUntil(lambda: window.gallery_model.rowCount() > 0, timeout=60_000)
    session = window.session
    session.detector()  # registers and activates the untrained version, v1

    told = []
    monkeypatch.setattr(
        retraining_controller.QMessageBox, "information", lambda parent, title, text: told.append(text)
    )
    window.retraining.start()  # too few reviews: a message, not a run
    assert window.retraining.job is None and "more image" in told[0]

    session.workspace.set_setting("retrain_config", {"epochs": 1, "batch_size": 8})
    rows = session.workspace.images(order="name")
    picked = [r for r in rows if "/good/" in r.rel_path][:4] + [
        r for r in rows if "/good/" not in r.rel_path
    ][:8]
    for row in picked:
        defect, name = row.rel_path.split("/")[-2:]
        if defect == "good":
            session.decide(row.id, ReviewStatus.NORMAL)
        else:
            session.decide(
                row.id,
                ReviewStatus.CORRECTED,
                mask=read_mask(source / "ground_truth" / defect / name.replace(".png", "_mask.png")),
            )

    shown = []
    monkeypatch.setattr(retraining_controller.ComparisonDialog, "exec", lambda self: shown.append(self) or 1)
    window.retraining.start()
    assert window.retraining.panel.isVisible()
    qtbot.waitUntil(lambda: bool(shown), timeout=240_000)
    active = model_versions.active_version(session.workspace)
    assert active.name == "v2" and active.method == "crane" and active.parent == "v1"
    assert "Finished" in window.retraining.panel.stage.text()

    window.retraining.restore("v1")
    assert model_versions.active_version(session.workspace).name == "v1"
    window.close()
