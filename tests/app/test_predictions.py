import threading

import numpy as np
import pytest

from tests.app.fakes import BrightnessDetector
from zsad_desktop.app.prediction.workspace_predictions import (
    PredictionFailure,
    cached_prediction,
    heatmap,
    predict_images,
    store_prediction,
)
from zsad_desktop.detection.interface import Detection
from zsad_desktop.imaging import read_rgb8
from zsad_desktop.store.errors import StoreError


def test_predictions_are_cached_per_image_hash_and_model_version(workspace):
    detector = BrightnessDetector()
    ids = [r.id for r in workspace.images(order="name")]
    results = list(predict_images(workspace, detector, ids))
    assert sorted(r.image_id for r in results) == sorted(ids) and detector.calls == len(ids)
    assert list(predict_images(workspace, detector, ids)) and detector.calls == len(ids)  # never twice
    other = BrightnessDetector(version="v2")
    list(predict_images(workspace, other, ids[:2]))
    assert other.calls == 2  # a new model version is a new prediction
    assert cached_prediction(workspace, ids[0], other.model_id) is not None
    assert cached_prediction(workspace, ids[2], other.model_id) is None


def test_heatmap_comes_back_as_float32_close_to_what_the_detector_said(workspace):
    detector = BrightnessDetector()
    row = workspace.images(order="name")[0]
    (stored,) = predict_images(workspace, detector, [row.id])
    expected = detector.predict([read_rgb8(workspace.absolute_path(row))])[0]
    got = heatmap(workspace, stored)
    assert got.dtype == np.float32 and got.shape == expected.heatmap.shape
    np.testing.assert_allclose(got, expected.heatmap, atol=1e-3)  # float16 on disk
    assert stored.score == pytest.approx(expected.score)
    assert workspace.files.path(stored.heatmap_file).suffix == ".npz"


def test_second_store_of_the_same_prediction_keeps_the_first(workspace):
    row = workspace.images(order="name")[0]
    first = store_prediction(workspace, row.id, Detection(0.25, np.zeros((4, 4), np.float32), "m"))
    second = store_prediction(workspace, row.id, Detection(0.75, np.ones((4, 4), np.float32), "m"))
    assert second.score == first.score == 0.25 and second.heatmap_file == first.heatmap_file
    heatmaps = list((workspace.files.root / "heatmaps").rglob("*.npz"))
    assert len(heatmaps) == 1  # the loser's file was removed


def test_unreadable_images_fail_alone(hazelnut_copy):
    from zsad_desktop.app.workspace.scanning import scan
    from zsad_desktop.app.workspace.workspace import Workspace

    (hazelnut_copy / "broken.png").write_bytes(b"garbage")
    with Workspace.open(hazelnut_copy) as ws:
        scan(ws)
        rows = ws.images(order="name")
        outcomes = list(predict_images(ws, BrightnessDetector(), [r.id for r in rows] + [10**6]))
        failures = [o for o in outcomes if isinstance(o, PredictionFailure)]
        assert {f.image_id for f in failures} == {
            next(r.id for r in rows if r.rel_path == "broken.png"),
            10**6,
        }
        assert len(outcomes) - len(failures) == len(rows) - 1
        with pytest.raises(StoreError, match="no readable pixels"):
            store_prediction(ws, 10**6, Detection(0.1, np.zeros((2, 2), np.float32), "m"))


def test_cancel_stops_between_batches(workspace):
    detector = BrightnessDetector()
    cancel = threading.Event()
    ids = [r.id for r in workspace.images(order="name")]
    outcomes = []
    for outcome in predict_images(workspace, detector, ids, batch_size=2, cancel=cancel):
        outcomes.append(outcome)
        cancel.set()
    assert len(outcomes) == 2 and detector.calls == 2


def test_each_detector_input_has_its_own_prediction_of_the_same_pixels(workspace):
    row = workspace.images(order="name")[0]
    plain = store_prediction(workspace, row.id, Detection(0.25, np.zeros((4, 4), np.float32), "m"))
    tiled = store_prediction(
        workspace, row.id, Detection(0.5, np.ones((4, 4), np.float32), "m"), "tile:224:28"
    )
    assert (plain.detector_input, tiled.detector_input) == ("", "tile:224:28")
    assert cached_prediction(workspace, row.id, "m", "").score == 0.25
    assert cached_prediction(workspace, row.id, "m", "tile:224:28").score == 0.5
    assert cached_prediction(workspace, row.id, "m", "percentile:1:99") is None
    assert cached_prediction(workspace, row.id, "m") == plain  # 8-bit and not tiled under the defaults: ""
