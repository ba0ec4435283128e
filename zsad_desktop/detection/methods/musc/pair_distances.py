"""Nearest-patch distances between every two images of a folder, each pair computed once, on
features already aggregated at one degree: the approximate mode works per degree (with this as its
exact fallback); exact scoring takes every degree from one product per pair (`gram_distances`).

MSM needs, for every image i and every other image j, each patch of i's
distance to its nearest patch of j, and the same from j to i. Both come from
one matrix of squared distances |a|^2 + |b|^2 - 2 a.b (torch.cdist's formula
for large inputs): its row minima serve i, its column minima serve j, so each
unordered pair costs one matrix product. Products are of one image's patches
against a block of images, sized to a memory budget so the product stays a
large, efficient one and `cancel` is polled every block.

`approximate_folder_distances` finds the nearest patch from a seeded random
projection to C / 8 dimensions (a product an eighth as costly) and re-ranks
that candidate exactly: the distance is a true distance to a patch of j, never
below the exact nearest one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

Cancel = Callable[[], bool] | None
BUDGET_BYTES = 16 << 20  # one block's distance matrix: at ViT-L, 2 images of 37 x 37 patches
APPROXIMATE_SHARE = 8  # the projection keeps C / 8 dimensions (128 of ViT-L's 1,024), at least 8


def _check(cancel: Cancel) -> None:
    if cancel is not None and cancel():
        raise InterruptedError("cancelled")


def _block_images(p: int, budget_bytes: int) -> int:
    return max(1, budget_bytes // (4 * p * p))


def _low_precision(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return x if dtype == torch.float32 else x.to(dtype)


def folder_distances(
    z: torch.Tensor,
    cancel: Cancel = None,
    budget_bytes: int = BUDGET_BYTES,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """z (N, P, C) -> (N, P, N): each patch's distance to the nearest patch of every image; inf on
    the diagonal (an image is not its own reference). `dtype` bfloat16 runs the products in it
    (where the device has it natively) and the sums in float32."""
    n, p, c = z.shape
    sq = (z * z).sum(-1)  # (N, P), float32 even when the products are not
    out = torch.full((n, p, n), float("inf"), dtype=torch.float32, device=z.device)
    low = _low_precision(z, dtype)
    block = _block_images(p, budget_bytes)
    for i in range(n - 1):
        for js in range(i + 1, n, block):
            _check(cancel)
            je = min(n, js + block)
            k = je - js
            # t[a, b] = |r_b|^2 - 2 q_a.r_b: the row minimum plus |q_a|^2 is q_a's squared distance
            if low is z:
                t = torch.addmm(sq[js:je].reshape(1, -1), z[i], z[js:je].reshape(-1, c).T, alpha=-2)
            else:
                t = (
                    torch.mm(low[i], low[js:je].reshape(-1, c).T)
                    .float()
                    .mul_(-2)
                    .add_(sq[js:je].reshape(1, -1))
                )
            t = t.view(p, k, p)
            out[i, :, js:je] = t.amin(-1) + sq[i, :, None]
            t.add_(sq[i].view(p, 1, 1))  # now the full squared distance: column minima serve j
            out[js:je, :, i] = t.amin(0)
    return out.clamp_min_(0).sqrt_()


def approximate_folder_distances(
    z: torch.Tensor,
    cancel: Cancel = None,
    dims: int | None = None,
    seed: int = 0,
    budget_bytes: int = BUDGET_BYTES,
) -> torch.Tensor:
    """As `folder_distances`, the nearest patch chosen in a random projection to `dims` dimensions,
    its distance then computed exactly in the full space."""
    n, p, c = z.shape
    dims = dims or max(8, c // APPROXIMATE_SHARE)
    if dims >= c:
        return folder_distances(z, cancel, budget_bytes)
    y = z @ projection(c, dims, seed).to(z)
    ysq = (y * y).sum(-1)
    sq = (z * z).sum(-1)
    out = torch.full((n, p, n), float("inf"), dtype=torch.float32, device=z.device)
    block = _block_images(p, budget_bytes)
    for i in range(n - 1):
        for js in range(i + 1, n, block):
            _check(cancel)
            je = min(n, js + block)
            k = je - js
            t = torch.addmm(ysq[js:je].reshape(1, -1), y[i], y[js:je].reshape(-1, dims).T, alpha=-2)
            t = t.view(p, k, p)
            rows = t.argmin(-1)  # (P, k): i's candidate patch in each j
            # each j's candidate patch in i: a transposed copy (with |y_i|^2 added on the way), as an
            # arg-minimum along the last dimension is about 3x faster than along the first
            cols = (t.permute(1, 2, 0) + ysq[i]).argmin(-1)  # (k, P)
            refs = z[js:je].reshape(-1, c)
            offsets = torch.arange(k, device=z.device) * p
            picked = refs.index_select(0, (rows + offsets).flatten()).view(p, k, c)
            dots = torch.bmm(picked, z[i].unsqueeze(-1)).squeeze(-1)  # (P, k)
            out[i, :, js:je] = sq[i, :, None] + sq[js:je].flatten()[rows + offsets] - 2 * dots
            back = (z[i].index_select(0, cols.flatten()) * refs).sum(-1).view(k, p)
            out[js:je, :, i] = sq[i][cols] + sq[js:je] - 2 * back
    return out.clamp_min_(0).sqrt_()


@functools.lru_cache(maxsize=8)
def projection(c: int, dims: int, seed: int) -> torch.Tensor:
    """(C, dims) seeded orthonormal columns (computed once: a QR of ViT-L's takes most of a second)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.linalg.qr(torch.randn(c, dims, generator=gen, dtype=torch.float64))[0].float()
