"""MuSc's three steps on dense patch tokens: LNAMD, MSM and RsCIN.

Facts from the authors' code (xrli-U/MuSc at b76b93d), followed here:
- LNAMD: each layer's patch tokens get a LayerNorm over the whole (C, h, w)
  map without affine weights, then every patch is the mean of its r x r
  neighbourhood per channel with zero padding counted in the mean (their
  unfold + adaptive average pooling is exactly a zero-padded average pool);
  the result is L2-normalised per layer. Degrees r = 1, 3, 5. (Scoring does not pool features
  first: one Gram matrix per pair of images serves every degree, `gram_distances`.)
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

from zsad_desktop.detection.methods.musc.gram_distances import as_patches, degree_distances, layer_normed
from zsad_desktop.detection.methods.musc.pair_distances import approximate_folder_distances

DEGREES = (1, 3, 5)
TOP_FRACTION = 0.3
RSCIN_K = (1, 2, 3)


def lnamd(tokens: Sequence[torch.Tensor], grid: tuple[int, int], r: int) -> torch.Tensor:
    """Per-layer tokens (B, 1 + h*w, C) with class token -> (B, h*w, layers, C), unit norm."""
    out = []
    for layer in tokens:
        x = layer_normed(layer, grid)
        if r > 1:
            x = F.avg_pool2d(x, r, stride=1, padding=r // 2, count_include_pad=True)
        out.append(x.flatten(2).transpose(1, 2))
    return F.normalize(torch.stack(out, dim=2), dim=-1)


def interval_mean(
    distances: torch.Tensor, fraction: float = TOP_FRACTION, count: int | None = None
) -> torch.Tensor:
    """(..., R) -> (...): mean of the smallest `fraction` of the last dimension.

    Their code takes int(R * fraction) values, which is none for R < 4; at
    least one is kept here (only small folders differ: theirs gives NaN)."""
    k = max(1, int((count or distances.shape[-1]) * fraction))
    return torch.topk(distances, k, dim=-1, largest=False).values.mean(dim=-1)


def mutual_scores(
    tokens: torch.Tensor,
    grid: tuple[int, int],
    degrees: Sequence[int] = DEGREES,
    refs: torch.Tensor | None = None,
    fraction: float = TOP_FRACTION,
    cancel: Callable[[], bool] | None = None,
    approximate: bool = False,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """One layer's tokens (N, 1 + h*w, C) with class token -> (len(degrees), N, h*w) scores, LNAMD
    at each degree then MSM.

    Without `refs` each image is scored against the other images of `tokens`, each pair's
    distances computed once for both directions and every degree (`degree_distances`), or with
    `approximate` per degree from a random projection (`approximate_folder_distances`). With refs
    (R, 1 + h*w, C) each image is scored against refs only. `cancel` is polled between blocks of
    pairs."""
    if refs is None and approximate:
        count = tokens.shape[0] - 1
        return torch.stack(
            [
                interval_mean(
                    approximate_folder_distances(lnamd([tokens], grid, r)[:, :, 0], cancel), fraction, count
                )
                for r in degrees
            ]
        )
    x = as_patches(layer_normed(tokens, grid))
    others = None if refs is None else as_patches(layer_normed(refs, grid))
    # all degrees' distances at once: 660 MB for a 200-image subset at ViT-L; the means one degree at a time
    d = degree_distances(x, grid, degrees, others, cancel, dtype=dtype)
    count = x.shape[0] - 1 if refs is None else refs.shape[0]
    return torch.stack([interval_mean(per_degree, fraction, count) for per_degree in d])


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
