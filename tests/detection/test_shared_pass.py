"""One backbone pass per image: the baseline's pass hands musc's tokens, and a normal memory over it
predicts exactly as with two passes (tiny random backbone, float32, within 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zsad_desktop.app.prediction.normal_memory import (
    FEATURE_DEGREE,
    MemoryDetector,
    add_normals,
    musc_extractor,
    shares_pass,
)
from zsad_desktop.detection.interface import DetectorError, create_detector
from zsad_desktop.detection.methods.aaclip.detector import AACLIPDetector
from zsad_desktop.detection.methods.baseline import PromptEnsembleDetector
from zsad_desktop.detection.methods.crane.detector import CraneDetector
from zsad_desktop.detection.methods.musc.detector import MuscDetector
from zsad_desktop.detection.normal_memory import NormalMemory


def _images(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (96 + 8 * i, 120, 3), dtype=np.uint8) for i in range(count)]


@pytest.fixture(scope="module")
def baseline(tiny_backbone):
    return create_detector("baseline", backbone=tiny_backbone, batch_size=2, precision="float32")


@pytest.fixture(scope="module")
def extractor(baseline):
    return musc_extractor(baseline)


class PassCounter:
    """Counts backbone passes (calls of the patch embedding) and the images they carried."""

    def __init__(self, backbone):
        self.images = 0
        self.handle = backbone.model.visual.conv1.register_forward_hook(self._count)

    def _count(self, _module, inputs, _output):
        self.images += inputs[0].shape[0]

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.handle.remove()


def test_the_baselines_pass_hands_muscs_tokens_and_the_same_maps(baseline, extractor):
    images = _images(3)
    request = extractor.pass_request()
    assert shares_pass(baseline, extractor)
    detections, tokens = baseline.predict_with_tokens(images, request)
    alone = baseline.predict(images)
    for a, b in zip(detections, alone):
        assert a.model_id == b.model_id
        assert abs(a.score - b.score) < 1e-5
        np.testing.assert_allclose(a.heatmap, b.heatmap, atol=1e-5)
    own = extractor.extract(images)
    assert tokens.grid == own.grid and len(tokens.tokens) == len(request.layers)
    for shared, separate in zip(tokens.tokens, own.tokens):
        torch.testing.assert_close(shared, separate, atol=1e-5, rtol=0)
    torch.testing.assert_close(tokens.embeddings, own.embeddings, atol=1e-5, rtol=0)


def test_memory_predictions_from_one_pass_equal_two_passes(baseline, extractor):
    normals, queries = _images(4, seed=1), _images(3, seed=2)
    memory = NormalMemory()
    add_normals(memory, [(f"n{i}", image, None) for i, image in enumerate(normals)], baseline, extractor)
    detector = MemoryDetector(baseline, memory, extractor)
    assert detector.one_pass
    with PassCounter(baseline.backbone) as counter:
        one_pass = detector.predict(queries)
    assert counter.images == len(queries)  # one pass per image, not two
    # The two-pass path as before: the base's own prediction, then the extractor's own pass.
    with PassCounter(baseline.backbone) as counter:
        zero_shot = baseline.predict(queries)
        memory_maps = detector.memory_maps(queries)
    assert counter.images == 2 * len(queries)
    for detection, z, m in zip(one_pass, zero_shot, memory_maps):
        expected = memory.fuse(z.heatmap, m)
        heat = 1.0 / (1.0 + np.exp(-np.clip((expected - 6.0) / 2.0, -60, 60)))
        np.testing.assert_allclose(detection.heatmap, heat, atol=1e-5)
        assert abs(detection.score - float(heat.max())) < 1e-5


def test_adding_normals_takes_one_pass_and_the_same_features(baseline, extractor):
    normals = _images(3, seed=3)
    shared, separate = NormalMemory(), NormalMemory()
    with PassCounter(baseline.backbone) as counter:
        add_normals(shared, [(f"n{i}", image, None) for i, image in enumerate(normals)], baseline, extractor)
    assert counter.images == len(normals)
    features, _ = extractor.patch_features(normals, degree=FEATURE_DEGREE)
    for i, image in enumerate(normals):
        separate.add(f"n{i}", features[i], baseline.predict([image])[0].heatmap)
    torch.testing.assert_close(shared.bank(), separate.bank(), atol=1e-5, rtol=0)
    mem_a, zs_a = shared.stats()
    mem_b, zs_b = separate.stats()
    assert abs(mem_a.mean - mem_b.mean) < 1e-5 and abs(zs_a.std - zs_b.std) < 1e-5


def test_methods_that_cannot_share_say_why_and_take_two_passes(tiny_backbone):
    for cls in (AACLIPDetector, CraneDetector, MuscDetector):
        assert not cls.shares_pass and "second backbone pass" in cls.pass_note

    class NotSharing(PromptEnsembleDetector):  # the baseline's maps, its pass kept to itself
        shares_pass = False

    base = NotSharing(backbone=tiny_backbone, batch_size=2, precision="float32")
    extractor = musc_extractor(base)
    assert not shares_pass(base, extractor)
    with pytest.raises(DetectorError, match="cannot share its backbone pass"):
        base.predict_with_tokens(_images(1), extractor.pass_request())
    memory = NormalMemory()
    normals = _images(2, seed=4)
    add_normals(memory, [(f"n{i}", image, None) for i, image in enumerate(normals)], base, extractor)
    detector = MemoryDetector(base, memory, extractor)
    assert not detector.one_pass
    with PassCounter(tiny_backbone) as counter:
        detector.predict(normals[:1])
    assert counter.images == 2
