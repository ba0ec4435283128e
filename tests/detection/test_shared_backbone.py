"""Detectors at two input sizes (the first look beside the full one) share one loaded model."""

import numpy as np

from tests.conftest import TINY
from zsad_desktop.detection.backbone import BackboneSpec, load_backbone, shared_backbone
from zsad_desktop.detection.interface import create_detector


def test_another_input_size_shares_the_model_and_scores_as_a_fresh_load():
    small, large = BackboneSpec(TINY, "random", image_size=56), BackboneSpec(TINY, "random", image_size=84)
    first, second = shared_backbone(large, "cpu"), shared_backbone(small, "cpu")
    assert second.model is first.model and second.spec == small and first.spec == large
    assert (
        shared_backbone(BackboneSpec(TINY, "random", image_size=84, seed=1), "cpu").model is not first.model
    )

    image = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    shared = create_detector("baseline", backbone=second).predict([image])[0]
    fresh = create_detector("baseline", backbone=load_backbone(small, "cpu")).predict([image])[0]
    assert abs(shared.score - fresh.score) < 1e-6
    np.testing.assert_allclose(shared.heatmap, fresh.heatmap, atol=1e-6)
