"""Crane's model: E-Attn beside an untouched CLIP, the image token, levels, pixel map and pooling."""

import pytest
import torch
import torch.nn.functional as F

from tests.conftest import TINY_TEXT768
from tests.detection.crane.conftest import PLAIN
from tests.tolerances import assert_close_to_scale
from zsad_desktop.detection.backbone import BackboneSpec, shared_backbone
from zsad_desktop.detection.interface import DetectorError, create_detector
from zsad_desktop.detection.methods.crane import scoring
from zsad_desktop.detection.methods.crane.detector import CraneDetector, default_layers

# x max |reference|: the same values through other kernels (one q, k, v projection for both paths).
# The largest seen with ATEN_CPU_CAPABILITY=avx2 / =default (oneDNN AVX2 / SSE4.1) on an AMD EPYC without
# AVX-512 (tests/tolerances.py) was 2.9e-7 / 2.9e-7; the bound keeps ~30x.
ROUNDING = 1e-5


def pixels(seed: int, size: int = 112, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def detector(backbone, released):
    return CraneDetector(backbone=backbone, checkpoint=str(PLAIN))


def test_registered_and_built_by_name(backbone, released):
    detector = create_detector("crane", backbone=backbone, checkpoint=str(PLAIN))
    assert isinstance(detector, CraneDetector) and detector.method == "crane"
    assert detector.layers == default_layers(4) and default_layers(24) == (6, 12, 18, 24)


@pytest.mark.reference
def test_e_attn_leaves_the_original_path_unchanged(released):
    # At the backbone's native size (no position-embedding resize) the global embedding is plain CLIP's.
    native = shared_backbone(BackboneSpec(TINY_TEXT768, "random", image_size=56), "cpu")
    batch = pixels(4, size=56)
    plain = native.model.encode_image(batch)
    for engine, tolerance in (
        ("exact", 0.0),
        ("fast", ROUNDING),
    ):  # fast: one q, k, v for both paths (rounding only)
        detector = CraneDetector(backbone=native, checkpoint=str(PLAIN), features="per_layer", engine=engine)
        with torch.no_grad():
            feats = detector.extractor(batch)
        assert_close_to_scale(feats.global_embedding, plain, tolerance, f"global embedding, {engine} engine")
        assert not torch.allclose(feats.patch_tokens[-1], feats.patch_tokens[0])  # the E-Attn path did run


def test_text_changes_with_the_image_token_only_when_it_is_on(backbone, released):
    on = CraneDetector(backbone=backbone, checkpoint=str(PLAIN), image_token=True)
    off = CraneDetector(backbone=backbone, checkpoint=str(PLAIN), image_token=False)
    batch = pixels(3)  # two different images
    with torch.no_grad():
        text_on = on.forward_batch(batch).text
        text_off = off.forward_batch(batch).text
        prompts_only = off.text_features()
    assert text_on.shape == text_off.shape == (2, 2, 768)
    assert not torch.allclose(text_on[0], text_on[1], atol=1e-4)  # each image conditions its own prompts
    assert not torch.allclose(text_on[0], prompts_only, atol=1e-4)
    assert torch.equal(text_off[0], prompts_only) and torch.equal(text_off[1], prompts_only)


@pytest.mark.reference
def test_reference_features_use_the_last_block_for_every_level(backbone, released):
    reference = CraneDetector(backbone=backbone, checkpoint=str(PLAIN))
    per_layer = CraneDetector(backbone=backbone, checkpoint=str(PLAIN), features="per_layer")
    batch = pixels(5)
    with torch.no_grad():
        _, ref_levels, _ = reference.feature_levels(batch)
        _, true_levels, grid = per_layer.feature_levels(batch)
    assert ref_levels.shape == true_levels.shape == (4, 2, 64, 768) and grid == (8, 8)
    assert all(torch.equal(level, ref_levels[-1]) for level in ref_levels)
    assert_close_to_scale(true_levels[-1], ref_levels[-1], ROUNDING, "last level")
    assert not torch.allclose(true_levels[0], true_levels[-1], atol=1e-3)


def test_per_layer_map_takes_the_softmax_on_the_grid_before_upsampling():
    grid, size = (2, 2), 8
    logits = torch.tensor([[[[0.0, 4.0], [0.0, -4.0], [0.0, 0.0], [0.0, 8.0]]]])  # (L=1, B=1, N=4, 2)
    probs = logits[0].softmax(-1)[..., 1].reshape(1, 1, 2, 2)
    expected = F.interpolate(probs, size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(scoring.anomaly_map(logits, grid, size, "per_layer"), expected)
    upsampled = F.interpolate(
        logits[0].reshape(1, 2, 2, 2).permute(0, 3, 1, 2),
        size=(size, size),
        mode="bilinear",
        align_corners=False,
    )
    torch.testing.assert_close(
        scoring.anomaly_map(logits, grid, size, "after_mean"), upsampled.softmax(1)[:, 1]
    )
    assert not torch.allclose(expected, upsampled.softmax(1)[:, 1])


def test_after_mean_averages_logits_across_levels():
    grid, size = (1, 1), 2
    logits = torch.tensor([[[[0.0, 10.0]]], [[[0.0, -10.0]]]])  # two levels that disagree completely
    assert torch.allclose(scoring.anomaly_map(logits, grid, size, "after_mean"), torch.full((1, 2, 2), 0.5))
    assert torch.allclose(
        scoring.anomaly_map(logits, grid, size, "per_layer"), torch.full((1, 2, 2), 0.5), atol=1e-4
    )
    logits[1] = torch.tensor([0.0, 2.0])
    per_layer = scoring.anomaly_map(logits, grid, size, "per_layer")[0, 0, 0]
    after_mean = scoring.anomaly_map(logits, grid, size, "after_mean")[0, 0, 0]
    assert per_layer == pytest.approx(
        (torch.sigmoid(torch.tensor(10.0)) + torch.sigmoid(torch.tensor(2.0))) / 2
    )
    assert after_mean == pytest.approx(torch.sigmoid(torch.tensor(6.0)))


def test_score_based_pooling_weights_patches_by_their_abnormal_probability():
    levels = F.normalize(torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]]), dim=-1)  # (L=1, B=1, N=2, D=2)
    logits = torch.tensor([[[[0.0, 20.0], [20.0, 0.0]]]])  # patch 0 abnormal, patch 1 normal
    g = torch.tensor([[0.0, 1.0]])
    pooled = scoring.pooled_image_features(levels, logits, g)
    # pooled patch feature ~ (1, 0); half and half with g -> normalised (0.5, 0.5)
    torch.testing.assert_close(pooled, F.normalize(torch.tensor([[0.5, 0.5]]), dim=-1), atol=1e-6, rtol=0)


@pytest.mark.reference
def test_heatmap_is_smoothed_at_the_input_size_and_resized_to_the_image(detector, images):
    detection = detector.predict(images[:1])[0]
    assert detection.heatmap.shape == images[0].shape[:2]
    with torch.no_grad(), detector.autocast():  # the detector's own precision, as predict runs it
        from zsad_desktop.detection.preprocess import to_model_input

        batch = to_model_input(
            images[:1], 112, detector.backbone.mean, detector.backbone.std, torch.device("cpu")
        )
        maps, scores = detector.score_grid(batch)
    assert maps.shape == (1, 112, 112)
    # the same kernels and batch: only the smoothing's float32 rounding may differ (none seen with
    # ATEN_CPU_CAPABILITY=avx2 or =default; 1e-6 of the peak is about 8 float32 roundings)
    assert_close_to_scale(
        detection.heatmap, detector.finish_map(maps[0].numpy(), images[0].shape[:2]), 1e-6, "map"
    )
    assert_close_to_scale(detection.score, float(scores[0]), 1e-6, "score")


def test_cached_text_follows_prompt_updates(backbone, released):
    detector = CraneDetector(backbone=backbone, checkpoint=str(PLAIN))
    with torch.no_grad():
        before = detector.text_features().clone()
        detector.prompts.ctx_neg.add_(0.5)  # what an optimiser step does
        after = detector.text_features()
    assert not torch.allclose(before[1], after[1]) and torch.allclose(before[0], after[0])


def test_model_id_changes_with_settings(backbone, released):
    a = CraneDetector(backbone=backbone, checkpoint=str(PLAIN))
    b = CraneDetector(backbone=backbone, checkpoint=str(PLAIN), map_softmax="after_mean")
    assert a.model_id != b.model_id and a.model_id.startswith("crane:")


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"map_softmax": "softmax"}, "map_softmax"),
        ({"features": "all"}, "features"),
        ({"variant": "crane++"}, "variant"),
        ({"layers": (2, 9)}, "do not fit a 4-block"),
    ],
)
def test_bad_settings_are_named(backbone, released, settings, message):
    with pytest.raises(DetectorError, match=message):
        CraneDetector(backbone=backbone, checkpoint=str(PLAIN), **settings)
