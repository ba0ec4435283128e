import pytest
import torch

from tests.conftest import TINY
from tests.tolerances import assert_close_to_scale
from zsad_desktop.detection.backbone import BackboneSpec, load_backbone
from zsad_desktop.detection.dense import DenseAttention, DenseConfig, DenseFeatureExtractor

pytestmark = pytest.mark.reference

# x max |reference|: the same values through other kernels (shared projections, another batch shape).
# The largest seen with ATEN_CPU_CAPABILITY=avx2 / =default (oneDNN AVX2 / SSE4.1) on an AMD EPYC without
# AVX-512 (tests/tolerances.py) was 3.3e-7 / 2.7e-7; the bound keeps ~30x.
ROUNDING = 1e-5


def _native_backbone():
    return load_backbone(BackboneSpec(TINY, "random", image_size=56))


def test_original_path_is_bit_identical_to_plain_clip_with_the_exact_engine():
    backbone = _native_backbone()
    images = torch.randn(2, 3, 56, 56, generator=torch.Generator().manual_seed(1))
    plain = backbone.model.encode_image(images)
    for mode in DenseAttention:
        extractor = DenseFeatureExtractor(
            backbone, DenseConfig(layers=(2, 4), attention=mode, start_layer=2), engine="exact"
        )
        with torch.no_grad():
            feats = extractor(images)
        assert torch.equal(feats.global_embedding, plain), mode


def test_fast_engine_shares_projections_yet_keeps_plain_clip_within_rounding():
    backbone = _native_backbone()
    images = torch.randn(2, 3, 56, 56, generator=torch.Generator().manual_seed(1))
    plain = backbone.model.encode_image(images)
    for mode in DenseAttention:
        extractor = DenseFeatureExtractor(
            backbone, DenseConfig(layers=(2, 4), attention=mode, start_layer=2), engine="fast"
        )
        with torch.no_grad():
            feats = extractor(images)
        assert_close_to_scale(feats.global_embedding, plain, ROUNDING, f"global embedding, {mode}")


def test_dense_path_differs_from_original_and_has_grid_shape(tiny_backbone):
    images = torch.randn(2, 3, 112, 112, generator=torch.Generator().manual_seed(2))
    plain = DenseFeatureExtractor(tiny_backbone, DenseConfig(layers=(2, 4), attention=DenseAttention.NONE))
    vv = DenseFeatureExtractor(
        tiny_backbone, DenseConfig(layers=(2, 4), attention=DenseAttention.VV, start_layer=2)
    )
    qkv = DenseFeatureExtractor(
        tiny_backbone, DenseConfig(layers=(2, 4), attention=DenseAttention.QKV, start_layer=2)
    )
    with torch.no_grad():
        a, b, c = plain(images), vv(images), qkv(images)
    assert a.grid == (8, 8)
    assert a.patch_tokens[0].shape == (2, 65, 64)
    assert not torch.allclose(a.patch_tokens[1], b.patch_tokens[1])
    assert not torch.allclose(b.patch_tokens[1], c.patch_tokens[1])
    assert_close_to_scale(b.global_embedding, a.global_embedding, ROUNDING, "global embedding")
    assert vv.project(b.patch_tokens[0]).shape == (2, 64, 64)


def test_dense_attention_is_computed_per_image(tiny_backbone):
    """An image's dense features must not depend on the other images of its batch."""
    gen = torch.Generator().manual_seed(3)
    images = torch.randn(3, 3, 112, 112, generator=gen)
    extractor = DenseFeatureExtractor(
        tiny_backbone, DenseConfig(layers=(4,), attention=DenseAttention.QKV, start_layer=2)
    )
    with torch.no_grad():
        together = extractor(images).patch_tokens[0]
        alone = extractor(images[1:2]).patch_tokens[0]
    assert_close_to_scale(together[1:2], alone, ROUNDING, "dense tokens, batch of 3 vs alone")


def test_position_embedding_interpolates_to_the_input_grid(tiny_backbone):
    extractor = DenseFeatureExtractor(tiny_backbone, DenseConfig(layers=(4,)))
    with torch.no_grad():
        feats = extractor(torch.zeros(1, 3, 168, 168))
    assert feats.grid == (12, 12) and feats.patch_tokens[0].shape[1] == 145
