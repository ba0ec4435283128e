"""The CPU block of the fast engine: equal to open_clip's block in float32, close to it in bfloat16
(the activation folded into the weights), attention by blocks of rows never N x N, weights prepared
again when they change."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from open_clip.transformer import QuickGELU, ResidualAttentionBlock

from tests.detection.test_engine import Shapes
from tests.tolerances import assert_close_to_scale
from zsad_desktop.detection import block_kernels, execution
from zsad_desktop.detection.dense import DenseAttention, fast_block

pytestmark = [
    pytest.mark.reference,
    pytest.mark.skipif(not block_kernels.available(), reason="torch without oneDNN"),
]

# x max |reference|. FLOAT32: the largest seen with ATEN_CPU_CAPABILITY=avx2 / =default (oneDNN AVX2 /
# SSE4.1) on an AMD EPYC without AVX-512 (tests/tolerances.py) was 2.2e-7 / 2.6e-7; the bound keeps ~40x.
# The bfloat16 bounds were set on a CPU with avx512_bf16 (this AMD EPYC has none: those tests skip):
# 8 bits of mantissa round each product's inputs to about 4e-3 of their size.
FLOAT32 = 1e-5
BFLOAT16_BLOCK = 2e-2
BFLOAT16_ATTENTION = 5e-2
needs_bf16 = pytest.mark.skipif(not execution.cpu_supports_bf16(), reason="this CPU has no native bfloat16")


def make_block(activation, seed: int = 0) -> ResidualAttentionBlock:
    torch.manual_seed(seed)
    block = ResidualAttentionBlock(64, 4, act_layer=activation).eval()
    with torch.no_grad():  # biases are zero at construction; make them matter
        for parameter in block.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return block


def tokens(n: int = 50, seed: int = 1) -> torch.Tensor:
    return torch.randn(2, n, 64, generator=torch.Generator().manual_seed(seed))


def explicit(pairs, values):
    """The definition, in float64: sum of softmax(a b^T / sqrt(d)) @ values."""
    scale = values.shape[-1] ** -0.5
    return (
        sum(torch.softmax(a.double() @ b.double().transpose(-2, -1) * scale, -1) for a, b in pairs)
        @ values.double()
    )


@pytest.mark.parametrize("activation", [QuickGELU, torch.nn.GELU])
def test_float32_block_equals_open_clips_block(activation):
    block, x = make_block(activation), tokens()
    with torch.inference_mode():
        assert block_kernels.applies(x) and block_kernels.supports(block)
        ours, _ = block_kernels.kernel_block(block, x, None, None)
        assert_close_to_scale(ours, block(x), FLOAT32, "block output")


@pytest.mark.parametrize("mode", [DenseAttention.VV, DenseAttention.QKV])
def test_float32_dense_path_equals_the_sdpa_block(mode):
    block, x = make_block(QuickGELU), tokens()
    dense = tokens(seed=2)
    with torch.inference_mode():
        want_x, want_dense = fast_block(block, x, dense, mode)
        got_x, got_dense = block_kernels.kernel_block(block, x, dense, mode.value)
    assert_close_to_scale(got_x, want_x, FLOAT32, "block output")
    assert_close_to_scale(got_dense, want_dense, FLOAT32, "dense path")


@needs_bf16
@pytest.mark.parametrize("activation", [QuickGELU, torch.nn.GELU])
def test_bfloat16_block_stays_close_with_the_activation_folded_in(activation, monkeypatch):
    block, x = make_block(activation), tokens()
    with torch.inference_mode():
        want = block(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got, _ = block_kernels.kernel_block(block, x, None, None)
        assert got.dtype == torch.float32  # the residual stream stays float32
        error = assert_close_to_scale(got, want, BFLOAT16_BLOCK, "bfloat16 block output")
        assert error > 0
        if activation is QuickGELU:  # a wrong fold is visible at this tolerance
            block.__dict__.pop("_kernel_weights")
            monkeypatch.setattr(block_kernels, "QUICK_GELU_SCALE", 1.0)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                wrong, _ = block_kernels.kernel_block(block, x, None, None)
            assert (wrong - want).abs().max() / want.abs().max() > 5 * error


@needs_bf16
@pytest.mark.parametrize("names", [("q", "k"), ("v",), ("q", "k", "v")])
def test_bfloat16_attention_by_blocks_of_rows_is_the_attention(names):
    n = 2 * block_kernels.QUERY_ROWS + 88  # three blocks of rows, the last one short
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, n, 32, generator=g) for _ in range(3))
    named = {"q": q, "k": k, "v": v}
    pairs = [(q, k)] if names == ("q", "k") else [(named[t], named[t]) for t in names]
    half = [(a.bfloat16(), b.bfloat16()) for a, b in pairs]
    with Shapes() as seen:
        got = block_kernels.attention(half, v.bfloat16())
    want = explicit(pairs, v)
    assert got.shape == (1, 2, n, 32) and got.dtype == torch.bfloat16
    assert_close_to_scale(got, want, BFLOAT16_ATTENTION, "bfloat16 attention")
    assert not any(s[-2:] == (n, n) for s in seen.shapes if len(s) >= 2)
    other = [(v, v)] if names != ("v",) else [(q, q)]
    assert (
        got.double() - explicit(other, v)
    ).abs().max() > 4 * BFLOAT16_ATTENTION * want.abs().max()  # tells modes apart


def test_float32_attention_is_sdpa_summed():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, 40, 16, generator=g) for _ in range(3))
    got = block_kernels.attention([(q, q), (k, k), (v, v)], v)
    want = sum(F.scaled_dot_product_attention(t, t, v) for t in (q, k, v))
    assert_close_to_scale(got, want, FLOAT32, "attention")


def test_weights_changed_in_place_are_prepared_again():
    block, x = make_block(QuickGELU), tokens()
    other = make_block(QuickGELU, seed=5)
    with torch.inference_mode():
        before, _ = block_kernels.kernel_block(block, x, None, None)
    with torch.no_grad():
        block.load_state_dict(other.state_dict())  # copies in place: the versions move
    with torch.inference_mode():
        after, _ = block_kernels.kernel_block(block, x, None, None)
        assert_close_to_scale(after, other(x), FLOAT32, "block output")
    assert (after - before).abs().max() > 1e-2


def test_with_gradients_the_kernels_step_aside():
    x = tokens().requires_grad_()
    assert not block_kernels.applies(x)  # training keeps autograd's path
    with torch.no_grad():
        assert block_kernels.applies(x)


@pytest.mark.filterwarnings("error")  # an output of the wrong shape is resized with a warning
@pytest.mark.parametrize("dtype", [torch.float32, pytest.param(torch.bfloat16, marks=needs_bf16)])
def test_class_token_only_keeps_the_class_token_and_the_dense_path(dtype):
    block, x, dense = make_block(QuickGELU), tokens(600), tokens(600, seed=2)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
        full_x, full_dense = block_kernels.kernel_block(block, x, dense, "vv")
        cls_x, cls_dense = block_kernels.kernel_block(block, x, dense, "vv", class_token_only=True)
    assert cls_x.shape == (2, 1, 64)
    assert_close_to_scale(cls_x, full_x[:, :1], FLOAT32, "class token")
    torch.testing.assert_close(cls_dense, full_dense, rtol=0, atol=0)


def test_a_kernel_that_fails_here_falls_back_to_torchs_operators(monkeypatch, tiny_backbone, caplog):
    from zsad_desktop.detection.dense import DenseConfig, DenseFeatureExtractor

    extractor = DenseFeatureExtractor(
        tiny_backbone, DenseConfig(layers=(2, 4), attention=DenseAttention.VV, start_layer=2)
    )
    pixels = torch.randn(1, 3, 112, 112, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        want = extractor(pixels)

    def broken(*args):
        raise RuntimeError("no oneDNN kernel for this CPU")

    monkeypatch.setattr(block_kernels, "linear", broken)
    monkeypatch.setattr(block_kernels, "_failure", None)
    with torch.inference_mode():
        got = extractor(pixels)
    assert not block_kernels.available() and "not usable here" in caplog.text
    for a, b in zip(got.patch_tokens, want.patch_tokens):
        assert_close_to_scale(a, b, FLOAT32, "patch tokens")
