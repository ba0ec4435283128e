import threading

import pytest

from tests.app.fakes import BrightnessDetector
from zsad_desktop.app.prediction import workspace_predictions
from zsad_desktop.app.prediction.pipeline import (
    InOrderWriter,
    prefetched,
    reader_threads,
    writes_in_background,
)
from zsad_desktop.app.prediction.workspace_predictions import PredictionRow, predict_images


def test_prefetched_keeps_order_and_hands_back_errors():
    def read(n):
        if n == 3:
            raise ValueError("bad file")
        return n * 10

    out = list(prefetched(range(6), read, threads=3, depth=3))
    assert [item for item, _ in out] == list(range(6))
    assert [r for _, r in out if not isinstance(r, Exception)] == [0, 10, 20, 40, 50]
    assert isinstance(out[3][1], ValueError)


def test_prefetched_reads_the_next_item_while_the_caller_works_on_this_one():
    second_read = threading.Event()

    def read(n):
        if n == 1:
            second_read.set()
        return n

    for item, _ in prefetched(range(3), read, threads=1, depth=2):
        if item == 0:  # still "scoring" item 0: item 1 must be read meanwhile
            assert second_read.wait(10), "item 1 was not read ahead"


def test_prefetched_reads_at_most_depth_ahead_and_stops_on_cancel():
    started = []
    cancel = threading.Event()

    def read(n):
        started.append(n)
        return n

    seen = []
    for item, _ in prefetched(range(100), read, threads=2, depth=4, cancel=cancel):
        seen.append(item)
        assert len(started) <= item + 1 + 4
        if item == 5:
            cancel.set()
    assert seen[-1] <= 5 + 4 and len(started) < 100


def test_writer_runs_in_order_off_the_callers_thread_and_raises_where_taken():
    caller = threading.get_ident()
    writer = InOrderWriter(background=True)
    threads = []
    for n in range(5):
        writer.submit(lambda n=n: threads.append(threading.get_ident()) or n)
    assert list(writer.drain()) == list(range(5))
    assert caller not in threads
    writer.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        list(writer.drain())
    writer.close()


def test_inline_writer_runs_on_the_callers_thread():
    writer = InOrderWriter(background=False)
    writer.submit(threading.get_ident)
    assert list(writer.done()) == [threading.get_ident()]


def test_a_gpu_writes_and_reads_in_background_a_cpu_writes_at_once():
    assert writes_in_background("cuda:0") and not writes_in_background("cpu")
    assert reader_threads("cuda") >= 2 and reader_threads("cpu") == 1


def test_predictions_on_a_gpu_are_stored_off_the_consumers_thread(workspace, monkeypatch):
    detector = BrightnessDetector()
    detector.device = "cuda:0"  # the writer's choice only looks at the device's name
    writers = set()
    store = workspace_predictions.store_prediction

    def recording_store(*args, **kwargs):
        writers.add(threading.get_ident())
        return store(*args, **kwargs)

    monkeypatch.setattr(workspace_predictions, "store_prediction", recording_store)
    ids = [r.id for r in workspace.images(order="name")]
    outcomes = list(predict_images(workspace, detector, ids, batch_size=2))
    assert len(outcomes) == len(ids) and all(isinstance(o, PredictionRow) for o in outcomes)
    assert [o.image_id for o in outcomes] == ids
    assert writers and threading.get_ident() not in writers


def test_the_next_batch_is_read_while_this_one_is_scored(hazelnut_copy, monkeypatch):
    from zsad_desktop.app.prediction import folder_prediction
    from zsad_desktop.app.prediction.folder_prediction import detect_files, image_files

    paths = image_files(hazelnut_copy)[:4]
    third_read = threading.Event()
    load = folder_prediction.load_image

    def recording_load(path, frame=None):
        if path == paths[2]:
            third_read.set()
        return load(path, frame)

    class WaitingDetector(BrightnessDetector):
        def predict(self, images):
            if len(self.seen) == 0:  # the first batch: the second one's first image must be read meanwhile
                self.overlapped = third_read.wait(10)
            self.seen.extend(images)
            return super().predict(images)

    detector = WaitingDetector()
    detector.seen, detector.overlapped = [], False
    monkeypatch.setattr(folder_prediction, "load_image", recording_load)
    outcomes = list(detect_files(detector, paths, batch_size=2))
    assert [item for item, _ in outcomes] == paths
    assert detector.overlapped, "the second batch was read only after the first was scored"
