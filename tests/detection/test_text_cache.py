"""Repeated work done once: text features on disk per model, the position embedding resized once per model."""

from __future__ import annotations

import torch

from tests.conftest import TINY, TINY_TEXT768
from zsad_desktop.detection import dense, prompts
from zsad_desktop.detection.backbone import BackboneSpec, shared_backbone
from zsad_desktop.detection.interface import create_detector
from zsad_desktop.detection.methods.crane import scoring
from zsad_desktop.detection.methods.crane.prompt_learner import CranePromptLearner


def _baseline(**extra):
    return create_detector(
        "baseline", model_name=TINY, pretrained="random", image_size=112, device="cpu", **extra
    )


def test_baseline_anchors_are_read_from_disk_by_a_new_detector(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSAD_CACHE_DIR", str(tmp_path))
    first = _baseline()
    anchors = first.anchor_cache.anchors(first.ensemble, "object")
    assert len(list((tmp_path / "text").glob("ensemble-*.pt"))) == 1

    def no_encoding(*args, **kwargs):
        raise AssertionError("the text tower ran although the anchors are cached")

    monkeypatch.setattr(prompts, "encode_sentences", no_encoding)
    again = _baseline().anchor_cache.anchors(first.ensemble, "object")
    assert torch.equal(again, anchors)


def test_other_prompts_or_weights_miss_the_cache_and_a_damaged_file_is_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSAD_CACHE_DIR", str(tmp_path))
    detector = _baseline()
    a = detector.anchor_cache.anchors(detector.ensemble, "object")
    b = detector.anchor_cache.anchors(detector.ensemble, "screw")
    other_seed = create_detector(
        "baseline", backbone=shared_backbone(BackboneSpec(TINY, "random", 112, seed=1), "cpu")
    )
    c = other_seed.anchor_cache.anchors(other_seed.ensemble, "object")
    files = sorted((tmp_path / "text").glob("*.pt"))
    assert len(files) == 3 and not torch.allclose(a, b) and not torch.allclose(a, c)
    for f in files:
        f.write_bytes(b"not a tensor")
    again = _baseline().anchor_cache.anchors(detector.ensemble, "object")
    torch.testing.assert_close(again, a, rtol=0, atol=1e-6)


def test_crane_prompt_features_are_cached_only_for_frozen_prompts(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSAD_CACHE_DIR", str(tmp_path))
    backbone = shared_backbone(BackboneSpec(TINY_TEXT768, "random", image_size=112), "cpu")
    torch.manual_seed(0)
    learner = CranePromptLearner(backbone)
    training = create_detector("crane", backbone=backbone, trained_prompts=learner)
    with torch.no_grad():
        text = training.text_features()
    assert not (tmp_path / "text").exists()  # prompts being trained change: never cached on disk
    frozen = create_detector("crane", backbone=backbone, trained_prompts=learner)
    frozen._frozen_prompts = True  # as for a checkpoint file
    with torch.no_grad():
        torch.testing.assert_close(frozen.text_features(), text, rtol=0, atol=0)
    assert len(list((tmp_path / "text").glob("crane-*.pt"))) == 1


def test_position_embedding_is_resized_once_per_model(monkeypatch):
    backbone = shared_backbone(BackboneSpec(TINY, "random", image_size=168), "cpu")
    calls = []
    real = dense.interpolated_pos_embedding
    monkeypatch.setattr(
        dense, "interpolated_pos_embedding", lambda *a, **k: calls.append(a[1]) or real(*a, **k)
    )
    backbone.model.visual.__dict__.pop("_resized_pos_embeddings", None)
    for _ in range(2):
        detector = create_detector("baseline", backbone=backbone)
        with torch.no_grad():
            detector.features(torch.zeros(1, 3, 168, 168))
    assert calls == [(12, 12)]


def test_crane_reference_levels_are_scored_once_with_the_same_result(monkeypatch):
    backbone = shared_backbone(BackboneSpec(TINY_TEXT768, "random", image_size=112), "cpu")
    torch.manual_seed(0)
    crane = create_detector(
        "crane", backbone=backbone, trained_prompts=CranePromptLearner(backbone).requires_grad_(False)
    )
    pixels = torch.randn(2, 3, 112, 112, generator=torch.Generator().manual_seed(5))
    scored = []
    real = scoring.patch_logits
    monkeypatch.setattr(
        scoring,
        "patch_logits",
        lambda levels, text, *a: scored.append(levels.shape[0]) or real(levels, text, *a),
    )
    with torch.no_grad():
        out = crane.forward_batch(pixels)
        _, levels, _ = crane.feature_levels(pixels)
        every_copy = real(levels, out.text)
    assert scored == [1] and out.logits.shape[0] == len(crane.layers) == 4
    assert torch.equal(out.logits, every_copy) and torch.equal(out.levels, levels)
