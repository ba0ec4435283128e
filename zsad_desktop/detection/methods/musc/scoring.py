"""MuSc's three steps on dense patch tokens: LNAMD, MSM and RsCIN.

Facts from the authors' code (xrli-U/MuSc at b76b93d), followed here:
- LNAMD: each layer's patch tokens get a LayerNorm over the whole (C, h, w)
  map without affine weights, then every patch is the mean of its r x r
  neighbourhood per channel with zero padding counted in the mean (their
  unfold + adaptive average pooling is exactly a zero-padded average pool);
  the result is L2-normalised per layer. Degrees r = 1, 3, 5.
- MSM: a patch's distance to another image is its Euclidean distance to the
  nearest patch of that image; its score is the mean of the smallest 30 % of
  those distances over the other images. Maps are averaged over layers, then
  over degrees.
- RsCIN: image scores (map maxima), min-max normalised over the folder, are
  smoothed over each image's k most similar images (class embeddings,
  cosine), averaged over k in (1, 2, 3).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from zsad_desktop.detection.methods.musc.pair_distances import approximate_folder_distances, folder_distances

DEGREES = (1, 3, 5)
TOP_FRACTION = 0.3
RSCIN_K = (1, 2, 3)


def lnamd(tokens: Sequence[torch.Tensor], grid: tuple[int, int], r: int) -> torch.Tensor:
    """Per-layer tokens (B, 1 + h*w, C) with class token -> (B, h*w, layers, C), unit norm."""
    h, w = grid
    out = []
    for layer in tokens:
        x = layer[:, 1:].float().transpose(1, 2).reshape(layer.shape[0], -1, h, w)
        x = F.layer_norm(x, x.shape[1:])
        if r > 1:
            x = F.avg_pool2d(x, r, stride=1, padding=r // 2, count_include_pad=True)
        out.append(x.flatten(2).transpose(1, 2))
    return F.normalize(torch.stack(out, dim=2), dim=-1)


def nearest_patch_distances(
    query: torch.Tensor, refs: torch.Tensor, budget_bytes: int = 256 << 20
) -> torch.Tensor:
    """query (Q, P, C), refs (R, P', C) -> (Q, P, R): each patch's Euclidean distance to the
    nearest patch of each reference image.

    One matrix product per block of queries and references, sized to `budget_bytes`:
    min |q - r|^2 = |q|^2 - max(2 q.r - |r|^2), the formula torch.cdist uses for
    large inputs, without materialising every distance's square root."""
    q_count, p, c = query.shape
    r_count, p_ref, _ = refs.shape
    refs_flat = refs.reshape(-1, c)
    ref_sq = (refs_flat * refs_flat).sum(-1)
    q_sq = (query * query).sum(-1)  # (Q, P)
    per_pair = 4 * p * p_ref
    r_chunk = max(1, min(r_count, budget_bytes // per_pair))
    q_chunk = max(1, budget_bytes // (per_pair * r_chunk))
    out = torch.empty(q_count, p, r_count, dtype=query.dtype)
    for qs in range(0, q_count, q_chunk):
        qb = query[qs : qs + q_chunk].reshape(-1, c)
        for rs in range(0, r_count, r_chunk):
            rows = slice(rs * p_ref, (rs + r_chunk) * p_ref)
            best = torch.addmm(ref_sq[rows], qb, refs_flat[rows].T, beta=-1, alpha=2)  # 2 q.r - |r|^2
            best = best.view(qb.shape[0], -1, p_ref).amax(-1).view(-1, p, best.shape[1] // p_ref)
            out[qs : qs + q_chunk, :, rs : rs + r_chunk] = best
    return (q_sq.unsqueeze(-1) - out).clamp_min_(0).sqrt_()


def interval_mean(
    distances: torch.Tensor, fraction: float = TOP_FRACTION, count: int | None = None
) -> torch.Tensor:
    """(..., R) -> (...): mean of the smallest `fraction` of the last dimension.

    Their code takes int(R * fraction) values, which is none for R < 4; at
    least one is kept here (only small folders differ: theirs gives NaN)."""
    k = max(1, int((count or distances.shape[-1]) * fraction))
    return torch.topk(distances, k, dim=-1, largest=False).values.mean(dim=-1)


def mutual_scores(
    z: torch.Tensor,
    refs: torch.Tensor | None = None,
    fraction: float = TOP_FRACTION,
    cancel: Callable[[], bool] | None = None,
    block: int = 16,
    approximate: bool = False,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """z (N, P, C) of one layer and degree -> (N, P) scores.

    Without `refs` each image is scored against the other images of z (MSM),
    each pair's distances computed once for both directions (`folder_distances`,
    or `approximate_folder_distances` with `approximate`); `cancel` is polled
    between blocks of pairs. With refs (R, P, C) each image is scored against
    refs only, queries in blocks of `block` images with `cancel` polled between."""
    if refs is None:
        if approximate:
            d = approximate_folder_distances(z, cancel)
        else:
            d = folder_distances(z, cancel, dtype=dtype)
        return interval_mean(d, fraction, z.shape[0] - 1)
    scores = []
    for start in range(0, z.shape[0], block):
        if cancel is not None and cancel():
            raise InterruptedError("cancelled")
        d = nearest_patch_distances(z[start : start + block], refs)
        scores.append(interval_mean(d, fraction, refs.shape[0]))
    return torch.cat(scores)


def rscin(scores: torch.Tensor, embeddings: torch.Tensor, k_list: Sequence[int] = RSCIN_K) -> torch.Tensor:
    """Image scores (N,) re-calibrated by their most similar images (N, D) unit embeddings."""
    if not k_list or 0 in k_list or scores.numel() < 2:
        return scores
    span = scores.max() - scores.min()
    s = (scores - scores.min()) / (span if span > 0 else 1.0)
    sim = embeddings.float() @ embeddings.float().T
    out = []
    for k in k_list:
        k = min(k, sim.shape[0])
        top = torch.topk(sim, k, dim=1).indices
        weights = torch.zeros_like(sim).scatter_(1, top, sim.gather(1, top))
        out.append((weights / weights.sum(1, keepdim=True)) @ s.float())
    return torch.stack(out, dim=-1).mean(-1)
