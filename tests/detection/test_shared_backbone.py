"""Detectors at two input sizes (the first look beside the full one) share one loaded model."""

import numpy as np
import pytest

from tests.conftest import TINY
from tests.tolerances import assert_close_to_scale
from zsad_desktop.detection.backbone import BackboneSpec, load_backbone, shared_backbone
from zsad_desktop.detection.interface import create_detector


@pytest.mark.reference
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
    # same kernels, same weights: only the resized position embedding's rounding may differ (none seen
    # with ATEN_CPU_CAPABILITY=avx2 or =default; 1e-6 of the peak is about 8 float32 roundings)
    assert_close_to_scale(shared.score, fresh.score, 1e-6, "score")
    assert_close_to_scale(shared.heatmap, fresh.heatmap, 1e-6, "map")
