"""The device's job queue: priorities, the image on screen jumping the queue, cancellation, errors."""

import threading

import pytest

from zsad_desktop.app.prediction.jobs import JobQueue, JobState, Priority, prediction_order

WAIT = 10.0


@pytest.fixture
def queue():
    q = JobQueue("test")
    yield q
    q.shutdown()


def _blocker(queue):
    """Occupy the worker until released, so the next submissions queue up."""
    started, release = threading.Event(), threading.Event()

    def work(progress, cancel):
        started.set()
        release.wait(WAIT)

    job = queue.submit("blocker", work, Priority.ON_SCREEN)
    assert started.wait(WAIT)
    return job, release


def _recorder(ran, name):
    return lambda progress, cancel: ran.append(name)


def test_jobs_run_by_priority_then_in_order(queue):
    blocker, release = _blocker(queue)
    ran = []
    for name, priority in [
        ("rest-1", Priority.FOLDER),
        ("train", Priority.TRAINING),
        ("rest-2", Priority.FOLDER),
        ("next", Priority.NEXT_IN_GALLERY),
        ("screen", Priority.ON_SCREEN),
    ]:
        queue.submit(name, _recorder(ran, name), priority)
    assert [j.name for j in queue.waiting()] == ["screen", "next", "rest-1", "rest-2", "train"]
    release.set()
    assert queue.wait_idle(WAIT)
    assert ran == ["screen", "next", "rest-1", "rest-2", "train"]
    assert blocker.state is JobState.FINISHED


def test_the_image_on_screen_jumps_the_queue(queue):
    _, release = _blocker(queue)
    ran = []
    for i in range(3):
        queue.submit(f"image:{i}", _recorder(ran, i), Priority.FOLDER, key=f"image:{i}")
    assert queue.reprioritise("image:2", Priority.ON_SCREEN)
    assert not queue.reprioritise("image:9", Priority.ON_SCREEN)
    release.set()
    assert queue.wait_idle(WAIT)
    assert ran == [2, 0, 1]


def test_results_progress_and_errors_reach_their_callbacks(queue):
    results, errors, progress = [], [], []

    def work(report, cancel):
        for i in range(3):
            report(i + 1, 3)
        return "done"

    job = queue.submit("ok", work, on_result=results.append, on_progress=lambda d, t: progress.append((d, t)))
    bad = queue.submit("bad", lambda p, c: 1 / 0, on_error=errors.append)
    assert job.wait(WAIT) and bad.wait(WAIT)
    assert results == ["done"] and progress == [(1, 3), (2, 3), (3, 3)]
    assert len(errors) == 1 and isinstance(errors[0], ZeroDivisionError)
    assert job.state is JobState.FINISHED and bad.state is JobState.FAILED
    after = queue.submit("after", lambda p, c: "still working", on_result=results.append)
    assert after.wait(WAIT) and results[-1] == "still working"  # one failure does not stop the queue


def test_cancel_stops_a_running_job_and_drops_waiting_ones(queue):
    started = threading.Event()
    results = []

    def long_work(progress, cancel):
        started.set()
        while not cancel.wait(0.01):
            pass
        return "partial"

    running = queue.submit("long", long_work, Priority.FOLDER, on_result=results.append)
    assert started.wait(WAIT)
    waiting = queue.submit("waiting", lambda p, c: results.append("ran"), Priority.FOLDER)
    queue.cancel_all()
    assert running.wait(WAIT) and waiting.wait(WAIT)
    assert running.state is JobState.CANCELLED and waiting.state is JobState.CANCELLED
    assert results == []  # a cancelled job reports no result
    assert queue.wait_idle(WAIT) and queue.pending() == 0


def test_cancel_below_keeps_the_image_on_screen(queue):
    _, release = _blocker(queue)
    ran = []
    queue.submit("screen", _recorder(ran, "screen"), Priority.ON_SCREEN)
    queue.submit("folder", _recorder(ran, "folder"), Priority.FOLDER, key="folder:0")
    queue.cancel_all(below=Priority.ON_SCREEN)
    release.set()
    assert queue.wait_idle(WAIT)
    assert ran == ["screen"]


def test_a_keyed_job_replaces_the_waiting_one_and_prefix_cancel(queue):
    _, release = _blocker(queue)
    ran = []
    queue.submit("next a", _recorder(ran, "a"), Priority.NEXT_IN_GALLERY, key="next")
    queue.submit("next b", _recorder(ran, "b"), Priority.NEXT_IN_GALLERY, key="next")
    queue.submit("chunk 0", _recorder(ran, "c0"), Priority.FOLDER, key="folder:0")
    queue.submit("chunk 8", _recorder(ran, "c8"), Priority.FOLDER, key="folder:8")
    queue.cancel_keyed("folder:")
    release.set()
    assert queue.wait_idle(WAIT)
    assert ran == ["b"]


def test_a_training_job_lets_the_image_on_screen_through(queue):
    ran = []
    step = threading.Event()

    def training(progress, cancel):
        step.wait(WAIT)
        ran.append("training step")
        queue.run_waiting(Priority.TRAINING)
        ran.append("training end")

    queue.submit("train", training, Priority.TRAINING)
    queue.submit("screen", _recorder(ran, "screen"), Priority.ON_SCREEN)
    queue.submit("later training", _recorder(ran, "other training"), Priority.TRAINING)
    step.set()
    assert queue.wait_idle(WAIT)
    # Either the worker picked "screen" first (it outranks training), or training let it through.
    assert ran.index("screen") < ran.index("training end")
    assert ran[-1] == "other training"


def test_two_workers_run_jobs_side_by_side():
    queue = JobQueue("pair", workers=2)
    both = threading.Barrier(2, timeout=WAIT)
    try:
        jobs = [queue.submit(str(i), lambda p, c: both.wait()) for i in range(2)]
        assert all(j.wait(WAIT) for j in jobs)
        assert all(j.state is JobState.FINISHED for j in jobs)  # the barrier broke otherwise
    finally:
        queue.shutdown()


def test_no_submissions_after_shutdown():
    queue = JobQueue("closed")
    queue.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        queue.submit("late", lambda p, c: None)


def test_prediction_order_screen_then_next_then_rest_wrapping():
    gallery = [10, 11, 12, 13, 14, 15, 16]
    plan = prediction_order(gallery, 13, lookahead=2)
    assert plan == [
        (Priority.ON_SCREEN, [13]),
        (Priority.NEXT_IN_GALLERY, [14, 15]),
        (Priority.FOLDER, [16, 10, 11, 12]),
    ]


def test_prediction_order_leaves_out_what_needs_no_prediction():
    gallery = [1, 2, 3, 4, 5, 6]
    plan = prediction_order(gallery, 2, needed={1, 4, 6}, lookahead=1)
    assert plan == [(Priority.NEXT_IN_GALLERY, [4]), (Priority.FOLDER, [6, 1])]
    assert prediction_order(gallery, None, needed={5, 1}) == [(Priority.FOLDER, [1, 5])]
    assert prediction_order(gallery, 3, needed=set()) == []


def test_a_settings_change_cancels_predictions_but_not_training_or_the_scan(tmp_path):
    from zsad_desktop.app.review.detector_settings import DetectorSettings
    from zsad_desktop.app.review.review_session import ReviewSession
    from zsad_desktop.app.workspace.workspace import Workspace

    queue = JobQueue("settings")
    session = ReviewSession(Workspace.open(tmp_path), DetectorSettings(), queue)
    _, release = _blocker(queue)
    jobs = {
        key: queue.submit(key, lambda progress, cancel: None, priority, key=key)
        for key, priority in (
            ("retrain", Priority.TRAINING),
            ("scan", Priority.ON_SCREEN),
            ("folder:0", Priority.FOLDER),
            ("screen", Priority.ON_SCREEN),
        )
    }
    session.change_settings(DetectorSettings(method="crane"))
    assert {key: job.cancel.is_set() for key, job in jobs.items()} == {
        "retrain": False,
        "scan": False,
        "folder:0": True,
        "screen": True,
    }
    release.set()
    session.close()
