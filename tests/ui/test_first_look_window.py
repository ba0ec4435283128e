"""In the window: the first look shows at once, is marked in the gallery, and the full heatmap replaces it."""

import threading
from dataclasses import replace

from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.ui.gallery.gallery_model import FirstLookRole


def test_first_look_then_full_heatmap(qtbot, tiny_prefs, hazelnut_folder, open_window, monkeypatch):
    release = threading.Event()
    predict = ReviewSession.predict

    def held_predict(self, image_ids, priority, on_result, on_error, on_progress=None, key=None):
        def held(outcome):  # on the worker: the full results wait, the first look (queued ahead) does not
            release.wait(120)
            on_result(outcome)

        return predict(self, image_ids, priority, held, on_error, on_progress, key)

    monkeypatch.setattr(ReviewSession, "predict", held_predict)
    tiny_prefs.detector = replace(tiny_prefs.detector, first_look=56)
    window = open_window(tiny_prefs, hazelnut_folder)
    try:
        review = window.review
        qtbot.waitUntil(
            lambda: review.current is not None and window.model.heatmap.raw is not None, timeout=60_000
        )
        assert "first look" in window.review.panel.model_label.text()
        image_id = review.current.row.id
        index = window.gallery_model.index(window.gallery_model.position(image_id))
        assert index.data(FirstLookRole) is True
        first = window.model.heatmap.raw
    finally:
        release.set()
    qtbot.waitUntil(lambda: "first look" not in window.review.panel.model_label.text(), timeout=60_000)
    assert window.model.heatmap.raw is not first
    qtbot.waitUntil(lambda: index.data(FirstLookRole) is False, timeout=60_000)
    assert window.gallery_model.row(image_id).score is not None
