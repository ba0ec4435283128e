"""The quick first look of the image on screen: low resolution, shown until the full heatmap arrives,
never scored, listed or exported."""

import threading

import pytest

from tests.conftest import TINY
from zsad_desktop.app.prediction.jobs import JobQueue
from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.workspace.scanning import scan


def _session(folder, first_look):
    settings = DetectorSettings(
        model_name=TINY,
        pretrained="random",
        image_size=112,
        device="cpu",
        object_name="hazelnut",
        first_look=first_look,
    )
    session = ReviewSession.open(folder, settings, JobQueue())
    scan(session.workspace)
    return session


def _run(session, submit):
    """Submit through `submit(on_result, on_error)` and wait for the job; the outcomes it reported."""
    done, outcomes, errors = threading.Event(), [], []
    job = submit(outcomes.append, errors.append)
    session.queue.submit(
        "marker", lambda progress, cancel: None, job.priority if job else 0, on_result=lambda _: done.set()
    )
    assert done.wait(120) and not errors, errors
    return outcomes


def test_first_look_is_shown_until_the_full_heatmap_and_never_scored(hazelnut_copy):
    session = _session(hazelnut_copy, first_look=56)
    try:
        row = session.workspace.images(order="name")[0]
        session.detector()  # the active model is registered, as when the window opens
        outcomes = _run(session, lambda ok, err: session.predict_first_look(row.id, ok, err))
        assert len(outcomes) == 1 and "@56" in outcomes[0].model_version
        view = session.view(row.id)
        assert view.first_look and view.heatmap is not None
        assert view.raw_heatmap.shape == view.pixels8.shape[:2]
        assert all(
            r.score is None for r in session.workspace.images()
        )  # the gallery and exports see no score
        _run(session, lambda ok, err: session.predict([row.id], 0, ok, err))
        view = session.view(row.id)
        assert not view.first_look and view.heatmap is not None and view.row.score is not None
        again = _run(session, lambda ok, err: session.predict_first_look(row.id, ok, err))
        assert again == []  # the full one exists: no first look is made
    finally:
        session.queue.shutdown()
        session.workspace.close()


@pytest.mark.parametrize("first_look", [0, 112, 224])
def test_no_first_look_when_it_would_not_be_smaller(hazelnut_copy, first_look):
    session = _session(hazelnut_copy, first_look)
    try:
        row = session.workspace.images(order="name")[0]
        session.detector()
        assert session.first_look_detector() is None
        assert _run(session, lambda ok, err: session.predict_first_look(row.id, ok, err)) == []
        assert session.view(row.id).heatmap is None
    finally:
        session.queue.shutdown()
        session.workspace.close()
