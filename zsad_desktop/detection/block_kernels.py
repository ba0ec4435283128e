"""A transformer block of the fast engine laid out for a CPU (inference only).

Measured on this project's 2-core CPU (avx512_bf16), ViT-L/14 at 518 px, per block
(bench/inference.py --compare has the end-to-end figures):
- linear layers through oneDNN directly: float32 1.2x faster than `F.linear`; in
  bfloat16 the weights are converted and reordered once (autocast converts them on
  every call), and the MLP activation runs inside the first product (QuickGELU is
  SiLU of a product whose weights are scaled by 1.702, undone in the second);
- attention in bfloat16 as explicit products, one head and 512 query rows at a time:
  1.6x faster than the CPU's flash kernel (plain and q-q + k-k + v-v), memory 512 x N,
  never N x N.
  In float32 the flash kernel (`scaled_dot_product_attention`) is the fastest.
The residual stream and layer norms stay float32, as under autocast. With gradients
(training) or off the CPU, `fast_block` in dense.py runs instead.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F

QUERY_ROWS = 512
QUICK_GELU_SCALE = 1.702  # QuickGELU(y) = y * sigmoid(1.702 y) = SiLU(1.702 y) / 1.702


log = logging.getLogger(__name__)
_failure: str | None = (
    None  # set when a kernel failed on this machine: torch's standard operators from then on
)


def available() -> bool:
    return (
        _failure is None
        and torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    )


def applies(x: torch.Tensor) -> bool:
    """CPU inference, without gradients, on a torch with oneDNN."""
    return x.device.type == "cpu" and not torch.is_grad_enabled() and available()


def shares_projection(block: torch.nn.Module) -> bool:
    """An open_clip self-attention block whose q, k, v projection both paths can share."""
    attn = getattr(block, "attn", None)
    return (
        isinstance(attn, torch.nn.MultiheadAttention)
        and attn._qkv_same_embed_dim
        and attn.batch_first
        and attn.in_proj_bias is not None
        and not hasattr(block, "ln_1_kv")
        and all(hasattr(block, name) for name in ("ln_1", "ln_2", "mlp", "ls_1", "ls_2"))
    )


def supports(block: torch.nn.Module) -> bool:
    """Such a block whose MLP is c_fc, activation, c_proj."""
    return shares_projection(block) and all(hasattr(block.mlp, name) for name in ("c_fc", "gelu", "c_proj"))


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The autocast dtype the caller chose (the detector's precision), else float32."""
    if torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16:
        return torch.bfloat16
    return torch.float32


class BlockWeights:
    """One block's linear weights in a dtype: kept as they are in float32; in bfloat16
    converted and reordered for oneDNN once, the MLP's activation folded in."""

    def __init__(self, block: torch.nn.Module, dtype: torch.dtype):
        attn, mlp = block.attn, block.mlp
        self.activation, scale = _activation(mlp)
        self.fused = dtype != torch.float32 and self.activation is not None
        in_scale = scale if self.fused else 1.0
        self.qkv = _prepare(attn.in_proj_weight, attn.in_proj_bias, dtype)
        self.out = _prepare(attn.out_proj.weight, attn.out_proj.bias, dtype)
        self.fc = _prepare(mlp.c_fc.weight, mlp.c_fc.bias, dtype, in_scale)
        self.proj = _prepare(mlp.c_proj.weight, mlp.c_proj.bias, dtype, 1.0 / in_scale, scale_bias=False)
        self.gelu = mlp.gelu

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused:
            attr, algorithm = self.activation
            hidden = torch.ops.mkldnn._linear_pointwise(x, *self.fc, attr, [], algorithm)
        else:
            hidden = self.gelu(linear(x, self.fc))
        return linear(hidden, self.proj)


def _activation(mlp: torch.nn.Module) -> tuple[tuple[str, str] | None, float]:
    """The oneDNN post-op for the MLP's activation and the scale folded into the weights, or None."""
    gelu = getattr(mlp, "gelu", None)
    if type(gelu).__name__ == "QuickGELU":
        return ("swish", ""), QUICK_GELU_SCALE
    if isinstance(gelu, torch.nn.GELU):
        return ("gelu", gelu.approximate), 1.0
    return None, 1.0


def _prepare(weight, bias, dtype, scale: float = 1.0, scale_bias: bool = True):
    if dtype == torch.float32 and scale == 1.0:
        return weight, bias  # no copy: oneDNN takes the plain float32 weights
    w = (weight.float() * scale).to(dtype)
    b = None if bias is None else (bias.float() * (scale if scale_bias else 1.0)).to(dtype)
    return torch.ops.mkldnn._reorder_linear_weight(w) if w.dtype == torch.bfloat16 else w, b


def linear(x: torch.Tensor, weights: tuple[torch.Tensor, torch.Tensor | None]) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, weights[0], weights[1], "none", [], "")


def block_weights(block: torch.nn.Module, dtype: torch.dtype) -> BlockWeights:
    """Prepared once per block and dtype; prepared again if a weight was changed in place."""
    cache = block.__dict__.setdefault("_kernel_weights", {})
    versions = tuple(p._version for p in block.parameters())
    entry = cache.get(dtype)
    if entry is None or entry[0] != versions:
        with torch.inference_mode(False), torch.no_grad():
            entry = cache[dtype] = (versions, BlockWeights(block, dtype))
    return entry[1]


def attention(pairs: list[tuple[torch.Tensor, torch.Tensor]], values: torch.Tensor) -> torch.Tensor:
    """sum over (a, b) in pairs of softmax(a b^T / sqrt(d)) @ values, heads kept apart: (B, H, N, d).

    One pair (q, k) is plain attention; (v, v) and (q, q), (k, k), (v, v) the self-correlations.
    In bfloat16, one head and QUERY_ROWS rows at a time: each block of weights stays in the
    cores' caches (a block of all heads at once was 1.3x slower)."""
    if values.dtype == torch.float32:
        return sum(F.scaled_dot_product_attention(a, b, values) for a, b in pairs)
    scale = values.shape[-1] ** -0.5
    pairs = [((a * scale).contiguous(), b.contiguous()) for a, b in pairs]  # once, not per block
    values = values.contiguous()
    batch, count, queries = pairs[0][0].shape[:3]
    out = values.new_empty(batch, count, queries, values.shape[-1])
    for i in range(batch):
        for h in range(count):
            for start in range(0, queries, QUERY_ROWS):
                weights = None
                for a, b in pairs:
                    p = torch.softmax(a[i, h, start : start + QUERY_ROWS] @ b[i, h].T, dim=-1)
                    weights = p if weights is None else weights.add_(p)
                torch.mm(weights, values[i, h], out=out[i, h, start : start + QUERY_ROWS])
    return out


def split_heads(qkv: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, N, 3 * width) projections -> q, k, v of (B, heads, N, width / heads)."""
    b, n, three_width = qkv.shape
    return tuple(
        t.reshape(b, n, count, three_width // 3 // count).transpose(1, 2) for t in qkv.chunk(3, dim=-1)
    )


def merge_heads(out: torch.Tensor) -> torch.Tensor:
    b, count, n, d = out.shape
    return out.transpose(1, 2).reshape(b, n, count * d)


SELF_CORRELATION = {"vv": ("v",), "qkv": ("q", "k", "v")}


def kernel_block(
    block: torch.nn.Module,
    x: torch.Tensor,
    dense: torch.Tensor | None,
    mode: str | None,
    class_token_only: bool = False,
):
    """The original path's block and, where `dense` is given, the self-correlation path beside it
    (`mode` "vv" or "qkv"), from one q, k, v projection. Returns (x, dense). `class_token_only`:
    the original path continues for the class token alone (the last block, where only the global
    embedding is read from it)."""
    dtype = compute_dtype(x)
    weights = block_weights(block, dtype)
    with torch.autocast("cpu", enabled=False):
        q, k, v = split_heads(linear(block.ln_1(x).to(dtype), weights.qkv), block.attn.num_heads)
        if dense is not None:
            named = {"q": q, "k": k, "v": v}
            correlation = attention([(named[t], named[t]) for t in SELF_CORRELATION[mode]], v)
            dense = dense + block.ls_1(linear(merge_heads(correlation), weights.out)).to(dense.dtype)
        if class_token_only:
            x, q = x[:, :1], q[:, :, :1]
        x = x + block.ls_1(linear(merge_heads(attention([(q, k)], v)), weights.out)).to(x.dtype)
        x = x + block.ls_2(weights.mlp(block.ln_2(x).to(dtype))).to(x.dtype)
    return x, dense


def try_kernel_block(
    block: torch.nn.Module,
    x: torch.Tensor,
    dense: torch.Tensor | None,
    mode: str | None,
    class_token_only: bool = False,
):
    """`kernel_block`, or None where oneDNN cannot run it here (a build or CPU without these kernels):
    the caller then runs torch's standard operators, now and for every later block."""
    global _failure
    try:
        return kernel_block(block, x, dense, mode, class_token_only)
    except RuntimeError as error:
        _failure = str(error)
        log.warning("oneDNN block kernels are not usable here (%s); using torch's standard operators", error)
        return None
