"""Crane fixtures: the tiny backbone whose text tower fits the released prompts, images, a tiny DINOv2 file."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import CHECKPOINTS, TINY_TEXT768
from zsad_desktop.detection.backbone import BackboneSpec, shared_backbone
from zsad_desktop.imaging import read_rgb8

SPEC = BackboneSpec(TINY_TEXT768, "random", image_size=112)  # 8x8 grid, text width 768 as ViT-L/14
RELEASED = sorted((CHECKPOINTS / "crane").glob("*/epoch_5.pth"))
PLAIN = next((p for p in RELEASED if p.parent.name == "trained_on_mvtec_crane"), None)


@pytest.fixture(scope="session")
def backbone():
    return shared_backbone(SPEC, "cpu")


@pytest.fixture(scope="session")
def released():
    if len(RELEASED) != 4:
        pytest.skip(f"the four released Crane checkpoints are not in {CHECKPOINTS / 'crane'}")
    return RELEASED


@pytest.fixture(scope="session")
def images(shared_data):
    return [read_rgb8(p) for p in sorted((shared_data / "mvtec_ad/hazelnut/test/crack").glob("*.png"))]


def write_meta_dinov2(
    path, width: int = 64, depth: int = 2, registers: int = 4, grid: int = 37, seed: int = 0
):
    """A random DINOv2 ViT/14 saved in Meta's checkpoint layout (as dinov2_vitb14_reg4_pretrain.pth)."""
    import timm.models.vision_transformer as vit_module

    torch.manual_seed(seed)
    vit = vit_module.VisionTransformer(
        img_size=grid * 14,
        patch_size=14,
        embed_dim=width,
        depth=depth,
        num_heads=width // 64,
        init_values=1.0,
        reg_tokens=registers,
        no_embed_class=True,
        num_classes=0,
    )
    state = {k: v for k, v in vit.state_dict().items()}
    with torch.no_grad():
        pos = torch.randn(1, grid * grid, width) * 3.0  # distinct positions: patch similarities spread out
    state["pos_embed"] = torch.cat([torch.zeros(1, 1, width), pos], dim=1)
    if registers:
        state["register_tokens"] = state.pop("reg_token")
    state["mask_token"] = torch.zeros(1, width)
    torch.save(state, path)
    return path


@pytest.fixture(scope="session")
def dinov2_file(tmp_path_factory):
    return write_meta_dinov2(tmp_path_factory.mktemp("dinov2") / "dinov2_vitb14_reg4_pretrain.pth")
