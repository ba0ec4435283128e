"""musc in the window on a folder of one product: the image on screen scored against references, the
folder mutually scored in the background (the gallery re-sorts), a NORMAL review joining the references,
and a reopened folder taking its references' features from the workspace's cache."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from zsad_desktop.app.prediction.musc_folder import DONE_SETTING
from zsad_desktop.app.review import musc_upkeep
from zsad_desktop.detection.methods.musc.detector import folder_subsets
from zsad_desktop.ui.settings.settings_dialog import SettingsDialog


@pytest.fixture
def product_folder(tmp_path, shared_data):
    """Eight of hazelnut's images (good and defective), flat in one folder."""
    target = tmp_path / "hazelnut"
    target.mkdir()
    source = shared_data / "mvtec_ad" / "hazelnut"
    for path in sorted(source.glob("t*/*/*.png"))[::2][:8]:
        shutil.copy(path, target / f"{path.parent.parent.name}_{path.parent.name}_{path.name}")
    return target


@pytest.fixture
def musc_prefs(tiny_prefs):
    tiny_prefs.detector = replace(
        tiny_prefs.detector,
        method="musc",
        first_look=56,
        precision="float32",
        extra={"subset_size": 4, "reference_size": 4},
    )
    return tiny_prefs


class PassCounter:
    """Images through the tiny backbone's patch embedding while `prepare` sets references."""

    def __init__(self, monkeypatch):
        self.images = 0
        prepare = musc_upkeep.MuscUpkeep.prepare

        def counted(upkeep, detector, cancel=None):
            if not upkeep.applies(detector):
                return prepare(upkeep, detector, cancel)
            handle = detector.backbone.model.visual.conv1.register_forward_hook(self._count)
            try:
                return prepare(upkeep, detector, cancel)
            finally:
                handle.remove()

        monkeypatch.setattr(musc_upkeep.MuscUpkeep, "prepare", counted)

    def _count(self, _module, inputs, _output):
        self.images += inputs[0].shape[0]


def test_musc_is_offered_and_explained(qtbot, musc_prefs):
    dialog = SettingsDialog(musc_prefs, None)
    qtbot.addWidget(dialog)
    assert dialog.method.findText("musc") >= 0 and dialog.method.currentText() == "musc"
    assert "one product, mostly normal" in dialog.method_note.text()
    dialog.method.setCurrentText("baseline")
    assert "also feeds the normal memory" in dialog.method_note.text()


def test_musc_in_the_window(qtbot, musc_prefs, product_folder, open_window, monkeypatch):
    counter = PassCounter(monkeypatch)
    window = open_window(musc_prefs, product_folder)
    rows = window.gallery_model.rows
    qtbot.waitUntil(
        lambda: not window.predictions.busy and all(r.score is not None for r in rows), timeout=600_000
    )
    session = window.session
    workspace = session.workspace
    model_id = session.model_id()
    assert model_id.startswith("musc:") and session.detector().settings()["references"].startswith("4:0n:")
    assert counter.images == 4  # the sample's features: one pass each
    # the image on screen, scored against the references under that version
    qtbot.waitUntil(
        lambda: window.review.current is not None and window.model.heatmap.raw is not None, timeout=300_000
    )
    qtbot.waitUntil(lambda: not window.review.current.first_look, timeout=300_000)
    assert "first look" not in window.review.panel.model_label.text()
    ids = window.gallery_model.ids()
    scored_by_references = {i: window.gallery_model.row(i).score for i in ids}
    # the whole folder mutually scored in the background: results land, the gallery re-sorts
    subsets = len(folder_subsets(len(ids), 4, 0))
    qtbot.waitUntil(lambda: len(workspace.setting(DONE_SETTING + model_id, [])) == subsets, timeout=300_000)
    mutual = {r.id: r.score for r in workspace.images(order="name", model_id=model_id)}
    assert mutual != scored_by_references
    qtbot.waitUntil(
        lambda: (
            [window.gallery_model.row(i).score for i in window.gallery_model.ids()]
            == sorted(mutual.values(), reverse=True)
        ),
        timeout=300_000,
    )
    assert window.gallery_model.ids() != ids  # the order changed with the new scores
    # a NORMAL review joins the references first: a new version records them
    outside = next(i for i in window.gallery_model.ids() if i not in session.musc.reference_ids)
    window.select_row(window.gallery_model.position(outside))
    qtbot.waitUntil(lambda: window.review.image_id == outside, timeout=300_000)
    window.review.decide("normal")
    qtbot.waitUntil(lambda: session.musc.reference_ids[:1] == [outside], timeout=300_000)
    qtbot.waitUntil(lambda: session.model_id() != model_id, timeout=300_000)
    assert session.detector().settings()["references"].startswith("4:1n:")
    renewed = session.model_id()
    window.close_folder()
    # reopened: the references' features come from the workspace's cache, no backbone pass for them
    counter.images = 0
    again = open_window(musc_prefs, product_folder)
    qtbot.waitUntil(
        lambda: again.session.musc.cache is not None and bool(again.session.musc.reference_ids),
        timeout=300_000,
    )
    assert again.session.detector().model_id == renewed
    assert again.session.musc.cache.passes == 0 and counter.images == 0
