"""Nearest-patch distances at every LNAMD degree from one matrix product per pair of images.

LNAMD's neighbourhood mean is linear. For two images' LayerNormed tokens X_a, X_b (P = h*w
patches by C channels), the pooled features' dot products are the pooled dot products:

    (pool_r X_a)(pool_r X_b)^T = pool_r over a's grid axes, and over b's, of X_a X_b^T

so one C-deep product (the Gram matrix) per pair serves degrees 1, 3 and 5, where pooling
first costs one product per degree. The pools are products with 0/1 band matrices, one per
grid axis (h x h or w x w, r ones wide: the zero padding is the band's missing entries),
each 2 * 37 multiply-adds an entry at ViT-L against the Gram's 2 * 1,024. LNAMD's L2
normalisation is a per-patch scale, so the cosine is the pooled product over the two patches'
pooled norms (computed from the pooled features), and the distance of two unit vectors is
sqrt(2 - 2 cos). (The pool's divisor, r^2 with zero padding counted, cancels in the cosine.)

As `pair_distances.folder_distances`, each unordered pair is computed once: the row maxima of
its cosines serve one image, the column maxima the other. Products are of one image's patches
against a block of images sized to a memory budget, and `cancel` is polled every block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

Cancel = Callable[[], bool] | None
#: one block's Gram matrix: at ViT-L two image pairs (15 MB; three such buffers are kept), which
#: keeps a cancel's wait short (a block is ~0.15 s of 2 idle cores)
BUDGET_BYTES = 16 << 20


def layer_normed(layer: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Tokens (B, 1 + h*w, C) with class token -> (B, C, h, w), each image's map LayerNormed over
    (C, h, w) without affine weights (LNAMD's first step)."""
    h, w = grid
    x = layer[:, 1:].float().transpose(1, 2).reshape(layer.shape[0], -1, h, w)
    return F.layer_norm(x, x.shape[1:])


def as_patches(x: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) -> (B, h*w, C), contiguous: one row per patch, for the products."""
    return x.flatten(2).transpose(1, 2).contiguous()


def _band(n: int, r: int, device: torch.device) -> torch.Tensor:
    i = torch.arange(n, device=device)
    return ((i[:, None] - i[None, :]).abs() <= r // 2).float()


def _inverse_norms(x: torch.Tensor, grid: tuple[int, int], r: int) -> torch.Tensor:
    """(N, P, C) -> (N, P): 1 / (r^2 |pool_r x|), turning a box sum of the Gram into a cosine."""
    h, w = grid
    maps = x.view(x.shape[0], h, w, -1).permute(0, 3, 1, 2)
    if r > 1:
        maps = F.avg_pool2d(maps, r, stride=1, padding=r // 2, count_include_pad=True)
    norms = torch.linalg.vector_norm(maps, dim=1).flatten(1).clamp_min(1e-12)  # F.normalize's floor
    return 1.0 / (norms * (r * r))


class _Cosines:
    """Each degree's cosines of one image's patches against a block of images, from their Gram.

    The pools are products with 0/1 band matrices (symmetric), one per grid axis; each side's
    1 / (r^2 |pool_r x|) scale rides in the band matrix of its last axis (a scaled band per grid
    row), so no pass over the block is spent on it. Buffers are kept between blocks: allocating
    a block's worth afresh costs as much again in page faults."""

    def __init__(self, grid: tuple[int, int], degrees: Sequence[int], device: torch.device):
        self.h, self.w = grid
        self.bands = {r: (_band(self.h, r, device), _band(self.w, r, device)) for r in degrees}
        self.buffers: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def _buffers(self, k: int, device: torch.device):
        if k not in self.buffers:
            p = self.h * self.w
            size = p * k * p
            self.buffers = {
                k: (
                    torch.empty(size, device=device),
                    torch.empty(size, device=device),
                    torch.empty(size, device=device),
                )
            }
        return self.buffers[k]

    def gram(self, q: torch.Tensor, refs: torch.Tensor) -> torch.Tensor:
        """q (P, C), refs (k, P, C) -> (P, k * P) dot products, in float32."""
        p, k = q.shape[0], refs.shape[0]
        out = self._buffers(k, q.device)[0].view(p, k * p)
        if q.dtype == torch.float32:
            return torch.mm(q, refs.reshape(-1, q.shape[1]).T, out=out)
        return out.copy_(torch.mm(q, refs.reshape(-1, q.shape[1]).T))

    def best(
        self, gram: torch.Tensor, r: int, inv_q: torch.Tensor, inv_r: torch.Tensor, columns: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """gram (P, k * P), inverse norms inv_q (P,), inv_r (k, P) -> at degree r, each query patch's
        best cosine in each reference image (P, k) and, with `columns`, each reference patch's in
        the query (k, P)."""
        h, w = self.h, self.w
        p, k = gram.shape[0], inv_r.shape[0]
        _, a, b = self._buffers(k, gram.device)
        if r == 1:  # nothing to pool: scale both sides
            cos = torch.mul(gram.view(p, k, p), inv_r, out=a.view(p, k, p)).mul_(inv_q.view(p, 1, 1))
            return cos.amax(-1), cos.amax(0) if columns else None
        bh, bw = self.bands[r]
        torch.mm(bh, gram.view(h, -1), out=a.view(h, -1))  # the query's grid rows
        scaled_q = bw * inv_q.view(h, w, 1)  # diag(inv_q of a grid row) @ band
        torch.bmm(scaled_q, a.view(h, w, -1), out=b.view(h, w, -1))  # the query's grid columns
        torch.matmul(bh, b.view(-1, h, w), out=a.view(-1, h, w))  # the references' grid rows
        scaled_r = bw * inv_r.view(k * h, 1, w)  # band @ diag(inv_r of a grid row)
        rows = a.view(p, k * h, w).transpose(0, 1)
        # their grid columns; the result is laid out (reference, its grid row, query patch, its grid column)
        cos = torch.bmm(rows, scaled_r, out=b.view(k * h, p, w)).view(k, h, p, w)
        return cos.amax(-1).amax(1).T, cos.amax(2).view(k, p) if columns else None


def _distance(cosine: torch.Tensor) -> torch.Tensor:
    return (2 - 2 * cosine).clamp_min_(0).sqrt_()


def degree_distances(
    x: torch.Tensor,
    grid: tuple[int, int],
    degrees: Sequence[int],
    refs: torch.Tensor | None = None,
    cancel: Cancel = None,
    budget_bytes: int = BUDGET_BYTES,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """LayerNormed, unpooled tokens x (N, P, C) (`as_patches(layer_normed(...))`) of one layer ->
    (len(degrees), N, P, M): each patch's distance, after LNAMD of each degree, to the nearest patch
    of every other image (refs None: M = N, inf on the diagonal) or of every reference image of
    refs (R, P, C) (M = R). `dtype` bfloat16 runs the Gram products in it (where the device has it
    natively) and the pools and sums in float32."""
    n, p, c = x.shape
    folder = refs is None
    others = x if refs is None else refs
    m = others.shape[0]
    fill = float("inf") if folder else 0.0
    out = torch.full((len(degrees), n, p, m), fill, dtype=torch.float32, device=x.device)
    inverse = [(_inverse_norms(x, grid, r), _inverse_norms(others, grid, r)) for r in degrees]
    cosines = _Cosines(grid, degrees, x.device)
    low, low_others = (x, others) if dtype == torch.float32 else (x.to(dtype), others.to(dtype))
    block = max(1, budget_bytes // (4 * p * p))
    for i in range(n - 1 if folder else n):
        for js in range(i + 1 if folder else 0, m, block):
            if cancel is not None and cancel():
                raise InterruptedError("cancelled")
            je = min(m, js + block)
            gram = cosines.gram(low[i], low_others[js:je])
            for d, r in enumerate(degrees):
                inv_q, inv_r = inverse[d][0][i], inverse[d][1][js:je]
                rows, columns = cosines.best(gram, r, inv_q, inv_r, folder)
                out[d, i, :, js:je] = _distance(rows)
                if columns is not None:  # the column maxima serve the other images of the block
                    out[d, js:je, :, i] = _distance(columns)
    return out
