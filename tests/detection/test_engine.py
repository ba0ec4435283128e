"""Engines and precision: the fast engine equals the exact float32 one within 1e-4 on every method's
maps, never builds a tokens x tokens matrix, and bfloat16 autocast does run when chosen."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from tests.conftest import TINY_TEXT768
from zsad_desktop.detection import execution
from zsad_desktop.detection.backbone import BackboneSpec, shared_backbone
from zsad_desktop.detection.dense import (
    DenseAttention,
    DenseConfig,
    DenseFeatureExtractor,
    self_correlation_sdpa,
)
from zsad_desktop.detection.execution import Execution, resolve_precision
from zsad_desktop.detection.interface import create_detector
from zsad_desktop.detection.methods.aaclip.model import AACLIPAdapters, AdapterLayout
from zsad_desktop.detection.methods.crane.prompt_learner import CranePromptLearner
from zsad_desktop.imaging import read_rgb8


@pytest.fixture(scope="module")
def backbone():
    return shared_backbone(BackboneSpec(TINY_TEXT768, "random", image_size=112), "cpu")


@pytest.fixture(scope="module")
def images(shared_data):
    paths = sorted((shared_data / "mvtec_ad/hazelnut/test").rglob("*.png"))[:3]
    return [read_rgb8(p) for p in paths]


def detector(method: str, backbone, **execution_settings):
    torch.manual_seed(0)
    if method == "crane":
        prompts = CranePromptLearner(backbone).requires_grad_(False)
        return create_detector("crane", backbone=backbone, trained_prompts=prompts, **execution_settings)
    if method == "aaclip":
        adapters = (
            AACLIPAdapters.for_backbone(backbone, AdapterLayout.for_backbone(backbone))
            .eval()
            .requires_grad_(False)
        )
        return create_detector(
            "aaclip",
            backbone=backbone,
            adapters=adapters,
            calibration={"map_low": 0, "map_high": 1},
            **execution_settings,
        )
    return create_detector("baseline", backbone=backbone, **execution_settings)


@pytest.mark.parametrize("mode", [DenseAttention.VV, DenseAttention.QKV])
def test_sdpa_self_correlation_equals_the_explicit_weights(mode):
    q, k, v = torch.randn(3, 2, 4, 50, 16, generator=torch.Generator().manual_seed(0))
    scale = 16**-0.5
    ts = (v,) if mode is DenseAttention.VV else (q, k, v)
    explicit = sum(torch.softmax(t @ t.transpose(-2, -1) * scale, dim=-1) for t in ts) @ v
    torch.testing.assert_close(self_correlation_sdpa(q, k, v, mode), explicit, rtol=0, atol=1e-5)
    other = DenseAttention.QKV if mode is DenseAttention.VV else DenseAttention.VV
    assert (
        self_correlation_sdpa(q, k, v, other) - explicit
    ).abs().max() > 1e-2  # the comparison can tell modes apart


@pytest.mark.parametrize("method", ["baseline", "crane", "aaclip"])
def test_fast_engine_maps_equal_the_exact_engine_within_1e_4(method, backbone, images):
    exact = detector(method, backbone, engine="exact").predict(images)
    fast = detector(method, backbone, engine="fast", precision="float32").predict(images)
    for a, b in zip(exact, fast):
        assert np.abs(a.heatmap - b.heatmap).max() <= 1e-4 and abs(a.score - b.score) <= 1e-4
        assert a.model_id == b.model_id  # how it ran is not part of the model's identity


def test_the_engine_comparison_can_fail(backbone, images):
    """The same check between two different dense attentions finds them apart."""
    vv = create_detector("baseline", backbone=backbone, dense_attention="vv", engine="exact").predict(images)
    qkv = create_detector("baseline", backbone=backbone, dense_attention="qkv", engine="fast").predict(images)
    assert max(np.abs(a.heatmap - b.heatmap).max() for a, b in zip(vv, qkv)) > 1e-4


class Shapes(TorchDispatchMode):
    """Every tensor shape that an operator returns."""

    def __init__(self):
        super().__init__()
        self.shapes: list[tuple[int, ...]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.shapes.append(tuple(t.shape))
        return out


@pytest.mark.parametrize("mode", [DenseAttention.VV, DenseAttention.QKV])
def test_fast_engine_never_builds_a_tokens_by_tokens_matrix(backbone, mode):
    pixels = torch.randn(1, 3, 112, 112)
    tokens = 65
    found = {}
    for engine in ("exact", "fast"):
        extractor = DenseFeatureExtractor(
            backbone, DenseConfig(layers=(4,), attention=mode, start_layer=2), engine
        )
        with torch.no_grad(), Shapes() as shapes:
            extractor(pixels)
        found[engine] = any(s[-2:] == (tokens, tokens) for s in shapes.shapes if len(s) >= 2)
    assert found == {"exact": True, "fast": False}


def test_precision_names_resolve_per_device(monkeypatch):
    assert Execution("exact", "bfloat16").dtype("cpu") == torch.float32  # the exact engine is float32
    assert resolve_precision(torch.device("cpu"), "float16") == torch.float32  # no float16 autocast on a CPU
    monkeypatch.setattr(execution, "cpu_supports_bf16", lambda: False)
    assert resolve_precision(torch.device("cpu"), "bfloat16") == torch.float32
    assert resolve_precision(torch.device("cpu"), "auto") == torch.float32  # emulated bfloat16 is slower
    monkeypatch.setattr(execution, "cpu_supports_bf16", lambda: True)
    assert resolve_precision(torch.device("cpu"), "bfloat16") == torch.bfloat16
    assert resolve_precision(torch.device("cpu"), "auto") == torch.bfloat16
    with pytest.raises(ValueError):
        Execution("quick", "auto")
    with pytest.raises(ValueError):
        Execution("fast", "int8")


class LinearDtypes(TorchDispatchMode):
    """Records the output dtypes of every linear layer's product (aten or oneDNN)."""

    def __init__(self):
        super().__init__()
        self.dtypes = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if any(name in str(func) for name in ("addmm", "linear_pointwise")):
            self.dtypes.add(out.dtype)
        return out


@pytest.mark.skipif(not execution.cpu_supports_bf16(), reason="this CPU has no native bfloat16")
def test_bfloat16_on_the_cpu_runs_in_bfloat16_and_stays_close(backbone, images):
    full = detector("baseline", backbone, precision="float32")
    half = detector("baseline", backbone, precision="bfloat16")
    with LinearDtypes() as seen_full:
        a = full.predict(images)
    with LinearDtypes() as seen_half:
        b = half.predict(images)
    assert seen_full.dtypes == {torch.float32} and torch.bfloat16 in seen_half.dtypes
    for x, y in zip(a, b):
        assert y.heatmap.dtype == np.float32
        assert not np.array_equal(x.heatmap, y.heatmap)
        assert np.corrcoef(x.heatmap.ravel(), y.heatmap.ravel())[0, 1] > 0.9
