import numpy as np
import pytest

from tests.conftest import TINY
from tests.tolerances import assert_close_to_scale
from zsad_desktop.detection.interface import DetectorError, available_methods, create_detector
from zsad_desktop.imaging import read_rgb8


def _detector(**extra):
    return create_detector(
        "baseline", model_name=TINY, pretrained="random", image_size=112, device="cpu", **extra
    )


def test_baseline_is_registered_and_unknown_methods_are_refused():
    assert "baseline" in available_methods()
    with pytest.raises(DetectorError, match="unknown detection method"):
        create_detector("no-such-method")


def test_heatmaps_have_each_images_size_and_are_deterministic(shared_data):
    paths = sorted((shared_data / "mvtec_ad/hazelnut/test/crack").glob("*.png"))[:2]
    images = [read_rgb8(p) for p in paths] + [np.zeros((40, 90, 3), np.uint8)]
    first = _detector().predict(images)
    second = _detector().predict(images)
    for image, a, b in zip(images, first, second):
        assert a.heatmap.shape == image.shape[:2] and a.heatmap.dtype == np.float32
        assert np.isfinite(a.heatmap).all() and 0.0 <= a.heatmap.min() and a.heatmap.max() <= 1.0
        assert 0.0 <= a.score <= 1.0
        np.testing.assert_array_equal(a.heatmap, b.heatmap)
        assert a.model_id == b.model_id and a.model_id.startswith("baseline:")


def test_model_id_changes_with_settings_that_change_results():
    assert _detector().model_id != _detector(object_name="hazelnut").model_id
    assert _detector().model_id != _detector(score_fusion="max").model_id


@pytest.mark.reference
def test_batch_size_does_not_change_results():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (70, 80, 3), dtype=np.uint8) for _ in range(3)]
    one = _detector(batch_size=1).predict(images)
    three = _detector(batch_size=3).predict(images)
    for a, b in zip(one, three):
        # another batch shape blocks the products differently: rounding only
        assert_close_to_scale(b.heatmap, a.heatmap, 1e-5, "map, batch of 3 vs 1")
