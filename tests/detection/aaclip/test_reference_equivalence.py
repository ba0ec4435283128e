"""The detector against a line-by-line transcription of the reference's inference
(model/adapter.py AdaptedCLIP.forward and encode_text, forward_utils.py
calculate_similarity_map with test=True, test.py's sum over levels), and the
stage-1 features against its DPAM blocks computed per image."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter

from tests.detection.aaclip.conftest import SPEC
from tests.tolerances import assert_close_to_scale, assert_kernels_agree
from zsad_desktop.detection.backbone import shared_backbone
from zsad_desktop.detection.dense import interpolated_pos_embedding
from zsad_desktop.detection.interface import create_detector
from zsad_desktop.detection.methods.aaclip.anchor_features import AnchorFeatures, first_value_value_block
from zsad_desktop.detection.methods.aaclip.checkpoint import finish_folder
from zsad_desktop.detection.methods.aaclip.model import AACLIPAdapters, AdapterLayout
from zsad_desktop.detection.methods.aaclip.scoring import ScoreCalibration, gaussian_blur
from zsad_desktop.detection.preprocess import to_model_input
from zsad_desktop.imaging import read_rgb8

pytestmark = pytest.mark.reference

# Largest seen with ATEN_CPU_CAPABILITY=avx2 / =default (oneDNN AVX2 / SSE4.1) on an AMD EPYC without
# AVX-512 (tests/tolerances.py): maps 4.5e-7 / 5.8e-7 of their peak, scores 1.2e-7 / 1.2e-7, stage-1
# levels 2.4e-7 / 2.4e-7 of their peak, the blur 1.9e-7 / 1.9e-7. Bounds keep 10-20x over that.
MAP_TOLERANCE = 1e-5  # x max |map|
SCORE_BOUND = 2e-6
FEATURE_TOLERANCE = 1e-5  # x max |feature|
BLUR_TOLERANCE = 2e-6  # x max |map|

PROMPT_NORMAL = ["{}", "a {}", "the {}"]
PROMPT_ABNORMAL = ["a damaged {}", "a broken {}", "a {} with flaw", "a {} with defect", "a {} with damage"]
PROMPT_TEMPLATES = ["{}.", "a photo of {}."]


def reference_pos_embedding(visual, grid):
    """resize_pos_embed of the reference's model.py: bicubic, antialias, align_corners False."""
    pos = visual.positional_embedding
    old = int(round((pos.shape[0] - 1) ** 0.5))
    img = pos[1:].reshape(1, old, old, -1).permute(0, 3, 1, 2)
    img = F.interpolate(img, size=grid, mode="bicubic", antialias=True, align_corners=False)
    return torch.cat([pos[:1], img.permute(0, 2, 3, 1).reshape(grid[0] * grid[1], -1)])


def reference_image_forward(clip, adapters, x, i_w=0.1, image_adapt_until=4, levels=(1, 2, 3, 4)):
    visual = clip.visual
    x = visual.conv1(x)
    grid = x.shape[-2:]
    x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
    x = torch.cat(
        [visual.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype), x],
        dim=1,
    )
    x = x + reference_pos_embedding(visual, tuple(grid))
    x = visual.ln_pre(x)
    tokens = []
    for i, block in enumerate(visual.transformer.resblocks):  # open_clip's blocks take (batch, tokens, width)
        x = block(x)
        if i < image_adapt_until:
            adapt_out = adapters.image_adapter["layer_adapters"][i](x)
            adapt_out = adapt_out * x.norm(dim=-1, keepdim=True) / adapt_out.norm(dim=-1, keepdim=True)
            x = i_w * adapt_out + (1 - i_w) * x
        if i + 1 in levels:
            tokens.append(x[:, 1:, :])
    tokens = [visual.ln_post(t) for t in tokens]
    seg_tokens = [F.normalize(adapters.image_adapter["seg_proj"][i](t), dim=-1) for i, t in enumerate(tokens)]
    det_token = F.normalize(adapters.image_adapter["det_proj"](tokens[-1]), dim=-1).mean(1)
    return seg_tokens, det_token


def reference_encode_text(clip, adapters, text, t_w=0.1, text_adapt_until=3):
    x = clip.token_embedding(text) + clip.positional_embedding
    for i, block in enumerate(clip.transformer.resblocks):
        x = block(x, attn_mask=clip.attn_mask)
        if i < text_adapt_until:
            adapt_out = adapters.text_adapter[i](x)
            adapt_out = adapt_out * x.norm(dim=-1, keepdim=True) / adapt_out.norm(dim=-1, keepdim=True)
            x = t_w * adapt_out + (1 - t_w) * x
    x = clip.ln_final(x)
    return adapters.text_adapter[-1](x[torch.arange(x.shape[0]), text.argmax(dim=-1)])


def reference_text_features(clip, tokenizer, adapters, real_name):
    text_features = []
    for states in (PROMPT_NORMAL, PROMPT_ABNORMAL):
        sentences = [
            template.format(state.format(real_name)) for state in states for template in PROMPT_TEMPLATES
        ]
        emb = reference_encode_text(clip, adapters, tokenizer(sentences))
        emb = emb / emb.norm(dim=-1, keepdim=True)
        emb = emb.mean(dim=0)
        text_features.append(emb / emb.norm())
    return torch.stack(text_features, dim=1)  # (E, 2)


def kornia_blur(maps: torch.Tensor, kernel: int, sigma: float) -> torch.Tensor:
    """gaussian_blur2d with reflect borders == scipy's 'mirror' mode with the same radius."""
    radius = kernel // 2
    return torch.from_numpy(
        np.stack([gaussian_filter(m, sigma, mode="mirror", truncate=radius / sigma) for m in maps.numpy()])
    )


def reference_heatmap(seg_tokens, text_features, img_size, domain):
    preds = []
    for f in seg_tokens:
        scores = 100.0 * torch.matmul(f, text_features)
        b, length, c = scores.shape
        h = int(np.sqrt(length))
        pred = scores.permute(0, 2, 1).view(b, c, h, h)
        sigma, kernel = (1, 7) if domain == "Industrial" else (1.5, 9)
        pred = (pred[:, 1] + 1 - pred[:, 0]) / 2
        pred = kornia_blur(pred, kernel, sigma).unsqueeze(1)
        preds.append(F.interpolate(pred, size=img_size, mode="bilinear", align_corners=True))
    return torch.cat(preds, dim=1).sum(1)


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    backbone = shared_backbone(SPEC, "cpu")
    torch.manual_seed(11)
    adapters = AACLIPAdapters.for_backbone(backbone, AdapterLayout.for_backbone(backbone))
    folder = tmp_path_factory.mktemp("aaclip-random")
    finish_folder(adapters, folder, 5, 20)
    return folder, adapters


@pytest.mark.parametrize("domain", ["industrial", "medical"])
def test_heatmaps_and_scores_equal_the_reference_inference(model_folder, hazelnut, domain):
    folder, adapters = model_folder
    calibration = ScoreCalibration(-3.0, 5.0, 0.4, 0.6)
    detector = create_detector(
        "aaclip",
        model_name=SPEC.model_name,
        pretrained="random",
        image_size=112,
        device="cpu",
        checkpoint_dir=str(folder),
        domain=domain,
        object_name="single brown hazelnut",
        calibration=calibration.to_dict(),
        precision="float32",
    )  # the reference runs float32
    images = [
        read_rgb8(s.image_path)[:112, 8:120] for s in hazelnut[:3]
    ]  # already at input size: no resizing
    found = detector.predict(images)

    clip = detector.backbone.model
    pixels = to_model_input(images, 112, detector.backbone.mean, detector.backbone.std, torch.device("cpu"))
    with torch.no_grad():
        seg, det = reference_image_forward(clip, adapters, pixels)
        text = reference_text_features(clip, detector.backbone.tokenizer, adapters, "single brown hazelnut")
        maps = reference_heatmap(seg, text, (112, 112), "Industrial" if domain == "industrial" else "Medical")
        image_pred = ((det @ text)[:, 1] + 1) / 2
    # metrics_eval with the stored ranges in place of the test set's min and max
    peak = (maps.flatten(1).max(1).values - calibration.map_low) / (
        calibration.map_high - calibration.map_low
    )
    det_scaled = (image_pred - calibration.detection_low) / (
        calibration.detection_high - calibration.detection_low
    )
    expected_scores = peak if domain == "medical" else 0.5 * peak + 0.5 * det_scaled

    for got, want in zip(found, maps.numpy()):  # sums of four levels of 100 x cosine similarities
        assert_close_to_scale(got.heatmap, want, MAP_TOLERANCE, "AA-CLIP map")
    # calibrated scores (range about 1): the fast engine's kernels against open_clip's blocks
    assert_kernels_agree([d.score for d in found], expected_scores, SCORE_BOUND, "AA-CLIP score")
    assert maps.std() > 0 and len({round(d.score, 4) for d in found}) == 3  # not a degenerate comparison


def test_blur_is_kornias_gaussian_with_reflected_borders():
    maps = torch.rand(2, 13, 11, generator=torch.Generator().manual_seed(0))
    for kernel, sigma in ((7, 1.0), (9, 1.5)):
        assert_close_to_scale(
            gaussian_blur(maps, kernel, sigma), kornia_blur(maps, kernel, sigma), BLUR_TOLERANCE, "blur"
        )


def reference_dpam_block(block, x):
    """A ResidualAttentionBlock whose attention the reference's DAPM_replace swapped for v-v attention, run per image."""
    attn = block.attn
    b, n, c = x.shape
    heads = attn.num_heads
    y = block.ln_1(x)
    qkv = (
        F.linear(y, attn.in_proj_weight, attn.in_proj_bias)
        .reshape(b, n, 3, heads, c // heads)
        .permute(2, 0, 3, 1, 4)
    )
    v = qkv[2]
    weights = ((v @ v.transpose(-2, -1)) * (c // heads) ** -0.5).softmax(dim=-1)
    out = F.linear((weights @ v).transpose(1, 2).reshape(b, n, c), attn.out_proj.weight, attn.out_proj.bias)
    x = x + out
    return x + block.mlp(block.ln_2(x))


def test_stage_one_features_are_the_reference_dpam_stream_computed_per_image(hazelnut):
    backbone = shared_backbone(SPEC, "cpu")
    images = [read_rgb8(s.image_path) for s in hazelnut[:3]]
    pixels = to_model_input(images, 112, backbone.mean, backbone.std, torch.device("cpu"))
    first = 2  # blocks 2..4 swapped, so level 1 comes from the unchanged stream
    features = AnchorFeatures(backbone, (1, 2, 3, 4), first_block=first)
    levels, grid = features(pixels)
    alone, _ = features(pixels[1:2])

    visual = backbone.model.visual
    with torch.no_grad():
        x = visual.conv1(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([visual.class_embedding.expand(len(x), 1, -1), x], dim=1)
        x = visual.ln_pre(x + interpolated_pos_embedding(backbone, grid, "bicubic", True))
        standard, taken = x, []
        for index, block in enumerate(visual.transformer.resblocks, start=1):
            x = reference_dpam_block(block, x) if index >= first else block(x)
            standard = block(standard)
            taken.append(x)
        cls = F.normalize(visual.ln_post(standard[:, 0]) @ visual.proj, dim=-1)[:, None]
        expected = [F.normalize(visual.ln_post(t[:, 1:]) @ visual.proj, dim=-1) + cls for t in taken]
    assert grid == (8, 8) and len(levels) == 4
    for got, want in zip(levels, expected):
        assert_close_to_scale(got, want, FEATURE_TOLERANCE, "stage-1 level")
    assert not torch.allclose(levels[3], F.normalize(levels[0] - cls, dim=-1) + cls, atol=1e-3)
    for got, want in zip(alone, levels):  # another image in the batch changes nothing
        assert_close_to_scale(got[0], want[1], FEATURE_TOLERANCE, "stage-1 level, alone vs in a batch")


def test_value_value_blocks_start_where_the_reference_starts():
    assert first_value_value_block(24) == 6  # DPAM_layer 20: resblocks[-1] .. resblocks[-19]
    assert first_value_value_block(12) == 1 and first_value_value_block(4) == 1
