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

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

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


def pair_budget_images(patches: int, budget_bytes: int = 256 << 20) -> int:
    """How many reference images one batched distance call may take."""
    return max(1, budget_bytes // (4 * patches * patches))


def nearest_patch_distances(query: torch.Tensor, refs: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """query (P, C), refs (R, P', C) -> (P, R): each patch's distance to the nearest patch of each ref."""
    chunk = chunk or pair_budget_images(max(query.shape[0], refs.shape[1]))
    parts = []
    for start in range(0, refs.shape[0], chunk):
        block = refs[start : start + chunk]
        d = torch.cdist(query.unsqueeze(0).expand(block.shape[0], -1, -1), block)
        parts.append(d.min(dim=-1).values.T)
    return torch.cat(parts, dim=1)


def interval_mean(distances: torch.Tensor, fraction: float = TOP_FRACTION) -> torch.Tensor:
    """(P, R) -> (P,): mean of the smallest `fraction` of each row.

    Their code takes int(R * fraction) values, which is none for R < 4; at
    least one is kept here (only small folders differ: theirs gives NaN)."""
    k = max(1, int(distances.shape[1] * fraction))
    return torch.topk(distances, k, dim=1, largest=False).values.mean(dim=1)


def mutual_scores(
    z: torch.Tensor,
    refs: torch.Tensor | None = None,
    fraction: float = TOP_FRACTION,
    cancel: Callable[[], bool] | None = None,
) -> torch.Tensor:
    """z (N, P, C) of one layer and degree -> (N, P) scores.

    Without `refs` each image is scored against the other images of z (MSM);
    with refs (R, P, C) each image is scored against refs only."""
    scores = []
    for i in range(z.shape[0]):
        if cancel is not None and cancel():
            raise InterruptedError("cancelled")
        others = torch.cat([z[:i], z[i + 1 :]]) if refs is None else refs
        scores.append(interval_mean(nearest_patch_distances(z[i], others), fraction))
    return torch.stack(scores)


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
