"""Background predictions: the order the reviewer needs, cancel, and errors shown without stopping the review."""

import time

import numpy as np
import torch

from zsad_desktop.app.prediction.jobs import Priority
from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.detection.interface import Detection
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.prediction.prediction_controller import PredictionController, describe_error


class _Queue:
    def __init__(self):
        self.cancelled = []

    def cancel_keyed(self, prefix):
        self.cancelled.append(prefix)

    def submit(self, name, work, priority, on_result=None, key=None, **_):
        return None


class _Session:
    """Records what the controller asks the session to predict, in order."""

    def __init__(self):
        self.queue = _Queue()
        self.asked = []

    def predict(self, ids, priority, on_result, on_error, on_progress=None, key=None):
        self.asked.append((priority, list(ids), key))

    def predict_folder(self, ids, on_result, on_error, on_progress=None, chunk=8):
        self.asked.append((Priority.FOLDER, list(ids), "folder"))

    def predict_first_look(self, image_id, on_result, on_error):
        self.asked.append((Priority.ON_SCREEN, [image_id], "first look"))


def test_the_image_on_screen_first_then_the_next_then_the_rest(qtbot):
    controller = PredictionController()
    session = _Session()
    controller.attach(session)
    gallery = list(range(12))  # the gallery's loaded rows; 12..19 are further down, not loaded yet
    controller.predict(gallery, [i for i in range(20) if i not in {5, 6}], on_screen=4)
    assert session.asked == [
        (Priority.ON_SCREEN, [4], "first look"),  # queued ahead of the full prediction of the same image
        (Priority.ON_SCREEN, [4], "image:4"),
        (Priority.NEXT_IN_GALLERY, [7, 8, 9, 10, 11, 12], "next"),  # cached 5 and 6 are not asked again
        (Priority.FOLDER, [13, 14, 15, 16, 17, 18, 19, 0, 1, 2, 3], "folder"),
    ]
    session.asked.clear()
    controller.focus(16)  # the reviewer jumped ahead
    assert session.asked == [
        (Priority.ON_SCREEN, [16], "first look"),
        (Priority.ON_SCREEN, [16], "image:16"),
        (Priority.NEXT_IN_GALLERY, [17, 18, 19, 0, 1, 2], "next"),
    ]
    assert controller.busy


def test_errors_read_as_sentences():
    from zsad_desktop.detection.backbone import WeightsMissingError

    assert (
        describe_error(WeightsMissingError("put ViT-L-14-336px.pt in models/"))
        == "put ViT-L-14-336px.pt in models/"
    )
    assert describe_error(torch.OutOfMemoryError("CUDA out of memory")).startswith("Out of memory")
    assert "KeyError" in describe_error(KeyError("x")) and "kept" in describe_error(KeyError("x"))


class _SlowDetector:
    model_id = "slow:test"
    batch_size = 1

    def __init__(self, delay=0.0, fail=None):
        self.delay, self.fail, self.calls = delay, fail, 0

    def predict(self, images):
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        time.sleep(self.delay)
        return [Detection(0.5, np.zeros(img.shape[:2], np.float32), self.model_id) for img in images]


def test_out_of_memory_shows_a_banner_and_stops_the_queue_once(
    qtbot, tiny_prefs, hazelnut_folder, open_window, monkeypatch
):
    detector = _SlowDetector(fail=torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    monkeypatch.setattr(ReviewSession, "detector", lambda self: detector)
    window = open_window(tiny_prefs, hazelnut_folder)
    qtbot.waitUntil(window.banner.isVisible, timeout=30_000)
    assert window.banner.text().startswith("Out of memory") and "Traceback" not in window.banner.text()
    qtbot.waitUntil(
        lambda: window.session.queue.wait_idle(0), timeout=10_000
    )  # a batch begun before the cancel ends
    assert detector.calls == 1  # not once per image
    window.review.settle()
    assert window.model.image.pixels8 is not None  # the images can still be reviewed


def test_cancel_keeps_what_was_predicted(qtbot, tiny_prefs, hazelnut_folder, open_window, monkeypatch):
    detector = _SlowDetector(delay=0.25)
    monkeypatch.setattr(ReviewSession, "detector", lambda self: detector)
    window = open_window(tiny_prefs, hazelnut_folder)
    qtbot.waitUntil(lambda: sum(r.score is not None for r in window.gallery_model.rows) >= 2, timeout=30_000)
    assert window.progress.isVisible()
    window.progress.cancel.click()
    assert not window.progress.isVisible() and not window.predictions.busy
    qtbot.waitUntil(
        lambda: window.session.queue.wait_idle(0), timeout=10_000
    )  # a batch begun before the cancel ends
    calls = detector.calls
    qtbot.wait(400)
    assert detector.calls == calls and calls < 15
    scored = window.session.workspace.images(order="name", model_id=detector.model_id)
    assert 2 <= sum(r.score is not None for r in scored) < 15


def test_an_unreadable_image_is_shown_as_such_and_the_rest_goes_on(
    qtbot, tiny_prefs, hazelnut_folder, open_window
):
    (hazelnut_folder / "test" / "good" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    window = open_window(tiny_prefs, hazelnut_folder, predicted=True)
    rows = window.gallery_model.rows
    broken = next(r for r in rows if r.rel_path.endswith("broken.png"))
    assert broken.load_error and sum(r.score is not None for r in rows) == 15
    window.select_row(window.gallery_model.position(broken.id))
    window.review.settle()
    assert window.model.image.pixels8 is None and "cannot be read" in window.viewer.message_item.text()
    assert "unreadable" in window.review_panel.score_label.text()
    assert not window.review_panel.decision_buttons["accept"].isEnabled()
    window.review.decide("normal")  # nothing to decide on: ignored, no crash
    assert window.session.workspace.image(broken.id).status is ReviewStatus.UNREVIEWED
    assert window.gallery_model.position(broken.id) == 15  # unscored: last in score order
    window.step(-1)
    window.review.settle()
    assert window.model.image.pixels8 is not None
