"""Crane+: DINOv2 checkpoints load (Meta's layout and timm's), D-Attn adds one level at the last block."""

import numpy as np
import pytest
import torch

from tests.detection.crane.conftest import PLAIN, write_meta_dinov2
from tests.tolerances import assert_close_to_scale
from zsad_desktop.detection.interface import DetectorError
from zsad_desktop.detection.methods.crane.dattn import dino_attention, load_dinov2
from zsad_desktop.detection.methods.crane.detector import CraneDetector

# x max |reference|: the same values through other kernels (the last block for the class token alone,
# another batch shape). The largest seen with ATEN_CPU_CAPABILITY=avx2 / =default (oneDNN AVX2 / SSE4.1)
# on an AMD EPYC without AVX-512 (tests/tolerances.py) was 2.4e-7 / 2.4e-7; the bound keeps ~40x.
ROUNDING = 1e-5


def crane_plus(backbone, released, dinov2_file, **settings):
    path = next(p for p in released if p.parent.name == "trained_on_mvtec_cranep")
    return CraneDetector(
        backbone=backbone, checkpoint=str(path), dinov2_checkpoint=str(dinov2_file), **settings
    )


def test_meta_and_timm_layouts_give_the_same_dinov2_features(tmp_path, backbone, dinov2_file):
    meta = load_dinov2(dinov2_file, backbone.mean, backbone.std)
    torch.save(meta.vit.state_dict(), tmp_path / "timm.pth")
    timm_layout = load_dinov2(tmp_path / "timm.pth", backbone.mean, backbone.std)
    batch = torch.randn(1, 3, 112, 112, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = meta(batch), timm_layout(batch)
    assert a.shape == (1, 64, 8, 8) and torch.equal(a, b)


def test_unreadable_or_foreign_dinov2_files_are_refused(tmp_path, backbone):
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(DetectorError, match="junk.pth"):
        load_dinov2(tmp_path / "junk.pth", backbone.mean, backbone.std)
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(DetectorError, match="not a DINOv2 checkpoint"):
        load_dinov2(tmp_path / "other.pth", backbone.mean, backbone.std)
    with pytest.raises(DetectorError, match="not found"):
        load_dinov2(tmp_path / "absent.pth", backbone.mean, backbone.std)


@pytest.mark.reference
def test_crane_plus_adds_a_d_attn_level_beside_the_last_e_attn_level(backbone, released, dinov2_file):
    plus = crane_plus(backbone, released, dinov2_file)
    plain = CraneDetector(backbone=backbone, checkpoint=str(PLAIN))
    batch = torch.randn(2, 3, 112, 112, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        g_plus, levels, _ = plus.feature_levels(batch)
        g_plain, plain_levels, _ = plain.feature_levels(batch)
    assert plus.variant == "crane+" and plus.layers == (4,) and levels.shape == (2, 2, 64, 768)
    # the original path is untouched (the plain one runs its last block for the class token alone)
    assert_close_to_scale(g_plus, g_plain, ROUNDING, "global embedding")
    assert_close_to_scale(levels[1], plain_levels[-1], ROUNDING, "E-Attn level after the last block")
    assert not torch.allclose(levels[0], levels[1], atol=1e-3)


@pytest.mark.reference
def test_per_image_mean_keeps_each_heatmap_independent_of_its_batch(backbone, released, dinov2_file, images):
    noise = (np.random.default_rng(0).random(images[0].shape) * 255).astype(np.uint8)
    alone = crane_plus(backbone, released, dinov2_file).predict([images[0]])[0].heatmap
    batched = crane_plus(backbone, released, dinov2_file, batch_size=2).predict([images[0], noise])[0].heatmap
    assert_close_to_scale(batched, alone, ROUNDING, "map, batch of 2 vs alone")
    as_reference = crane_plus(
        backbone, released, dinov2_file, dattn_mean="batch", batch_size=2
    )  # one batch of two
    assert not np.allclose(
        as_reference.predict([images[0]])[0].heatmap,
        as_reference.predict([images[0], noise])[0].heatmap,
        atol=1e-5,
    )


def test_identical_dinov2_patches_still_give_finite_attention(backbone):
    """All patches alike: every similarity is below beta x mean, which masks whole rows in the reference (NaN)."""
    block = backbone.model.visual.transformer.resblocks[-1]
    x = torch.randn(1, 1 + 64, 64, generator=torch.Generator().manual_seed(2))
    dino = torch.ones(1, 16, 8, 8)
    with torch.no_grad():
        out = dino_attention(block, x, dino, (8, 8))
    assert out.shape == (1, 64, 64) and torch.isfinite(out).all()


def test_crane_plus_heatmaps_are_finite_on_a_uniform_image(backbone, released, dinov2_file):
    grey = np.full((90, 120, 3), 128, np.uint8)
    detection = crane_plus(backbone, released, dinov2_file).predict([grey])[0]
    assert (
        detection.heatmap.shape == (90, 120)
        and np.isfinite(detection.heatmap).all()
        and np.isfinite(detection.score)
    )


def test_dinov2_without_registers_loads(tmp_path, backbone):
    path = write_meta_dinov2(tmp_path / "dinov2_vits14_pretrain.pth", registers=0)
    features = load_dinov2(path, backbone.mean, backbone.std)
    assert features.vit.num_prefix_tokens == 1
    with torch.no_grad():
        assert torch.isfinite(features(torch.zeros(1, 3, 112, 112))).all()


def test_dinov2_is_found_in_the_models_folder(tmp_path, monkeypatch, backbone, released, dinov2_file):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path))
    path = next(p for p in released if p.parent.name == "trained_on_visa_cranep")
    with pytest.raises(DetectorError, match=str(tmp_path / "dinov2_vitb14_reg4_pretrain.pth")):
        CraneDetector(backbone=backbone, checkpoint=str(path))
    (tmp_path / "dinov2_vitb14_reg4_pretrain.pth").write_bytes(dinov2_file.read_bytes())
    detector = CraneDetector(backbone=backbone, checkpoint=str(path))
    assert detector.variant == "crane+" and detector.dinov2_checkpoint == str(
        tmp_path / "dinov2_vitb14_reg4_pretrain.pth"
    )
    by_name = CraneDetector(
        backbone=backbone, checkpoint=str(PLAIN), dinov2_checkpoint="dinov2_vitb14_reg4_pretrain.pth"
    )
    assert by_name.variant == "crane+" and by_name.dino is not None
    assert (
        CraneDetector(backbone=backbone, checkpoint=str(PLAIN)).variant == "crane"
    )  # a file alone does not switch
