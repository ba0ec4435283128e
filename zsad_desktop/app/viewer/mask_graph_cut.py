"""A binary graph cut of an image crop from per-pixel evidence (the energy of the click tool).

The energy is the classic interactive one (Boykov & Jolly): a unary term per pixel, the log-odds of
"defect" summed from independent cues, and a contrast-sensitive Potts term between 8-neighbours,
so the cut follows the image's intensity, colour and texture edges. PyMaxflow solves it exactly.

Cues (each a log-odds map, weighted in `Weights`):
- appearance: a mixture of diagonal Gaussians per class over Lab colour (or grey), fitted to the
  pixels the mask and the clicks say are defect / not defect;
- the current mask, trusted less near the newest click and fully far from it;
- the heatmap (0.5 is neutral);
- closeness to positive clicks and to the mask, so the cut does not grab look-alikes far away.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import maxflow
import numpy as np

HARD = 1e9
WORK_SIDE = 256  # the cut runs at most this size a side, for speed (larger crops are scaled down)
CONFIDENCE = 4.0  # the most a colour model may say: mixtures fitted to few pixels are overconfident


@dataclass(frozen=True)
class Weights:
    appearance: float = 1.0
    mask: float = 0.5
    heatmap: float = 1.0
    far: float = 0.5
    pairwise: float = 1.5
    click: float = 3.0
    click_radius: float = 0.03  # of the side: the surroundings a click speaks for
    model_radius: float = 0.02  # of the side: the pixels around a click its class's colours are learnt from
    far_radius: float = 0.2  # of the side
    core: float = 0.5  # of the mask's deepest distance: its inner part, where its colours are learnt
    open_radius: float = 0.1  # of the side: what a click away from any outline speaks for
    reach: float = 2.5  # times its distance to the outline: how far the newest click may change the mask
    band: float = 2.0  # how much the newest click's band along the outline leans to its side
    band_radius: float = 0.3  # of the side: how far along the outline the band leans
    open_reach: float = 0.4  # of the side: how far a positive click away from the mask may add


def features(image: np.ndarray) -> np.ndarray:
    """(H, W, C) float32: lightly smoothed Lab (or grey), each channel scaled to unit spread.

    Local contrast as a texture channel was measured and left out: it is high along every plain
    edge, so it pushes a defect's own rim to the background (a disk on texture lost a third of it)."""
    if image.ndim == 3 and image.shape[2] == 3:
        colour = np.asarray(cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2LAB), np.float32)
    else:
        colour = image.reshape(image.shape[:2]).astype(np.float32)[..., None]
    lab = np.asarray(cv2.GaussianBlur(colour, (0, 0), 1.0), np.float32).reshape(*image.shape[:2], -1)
    spread = lab.reshape(-1, lab.shape[2]).std(axis=0) + 1e-3
    return (lab / spread).astype(np.float32)


def _mixture(samples: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means, variances of k diagonal Gaussians (k-means clusters of the samples)."""
    k = max(1, min(k, len(samples) // 100))  # a component needs enough pixels for its spread
    if k == 1:
        centres, labels = samples.mean(axis=0, keepdims=True), np.zeros(len(samples), np.intp)
    else:
        criteria = (cv2.TERM_CRITERIA_MAX_ITER + cv2.TERM_CRITERIA_EPS, 8, 1e-3)
        cv2.setRNGSeed(0)
        _, found, centres = cv2.kmeans(samples, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
        labels = np.asarray(found, np.intp).ravel()
    weights, variances = np.zeros(k), np.zeros_like(centres)
    for j in range(k):
        members = samples[labels == j]
        weights[j] = max(len(members), 1)
        variances[j] = members.var(axis=0) if len(members) > 1 else 1.0
    return weights / weights.sum(), centres, np.maximum(variances, 0.05)


def _log_likelihood(feats: np.ndarray, model: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    weights, means, variances = model
    flat = feats.reshape(-1, feats.shape[-1])
    parts = []
    for w, mu, var in zip(weights, means, variances):
        d = ((flat - mu) ** 2 / var).sum(axis=1)
        parts.append(np.log(w) - 0.5 * (d + np.log(var).sum()))
    return np.logaddexp.reduce(np.stack(parts), axis=0).reshape(feats.shape[:2])


def _sample(feats: np.ndarray, where: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    idx = np.flatnonzero(where)
    if idx.size > most:
        idx = rng.choice(idx, most, replace=False)
    return feats.reshape(-1, feats.shape[-1])[idx]


def appearance_log_odds(feats: np.ndarray, defect: np.ndarray, normal: np.ndarray) -> np.ndarray | None:
    """log p(f | defect) - log p(f | normal), from the pixels given as each; None without both."""
    rng = np.random.default_rng(0)
    pos, neg = _sample(feats, defect, 1500, rng), _sample(feats, normal, 3000, rng)
    if len(pos) < 2 or len(neg) < 2:
        return None
    odds = _log_likelihood(feats, _mixture(pos, 3)) - _log_likelihood(feats, _mixture(neg, 5))
    return np.clip(odds, -CONFIDENCE, CONFIDENCE).astype(np.float32)


def heatmap_log_odds(heat: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)) of the heatmap read as a probability of defect; no evidence where it is NaN,
    and no certainty anywhere (0.02..0.98)."""
    heat = np.clip(np.nan_to_num(np.asarray(heat, np.float32), nan=0.5), 0.02, 0.98)
    return np.log(heat / (1.0 - heat))


def contrast_edges(feats: np.ndarray, strength: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weights, structure) per neighbour direction: strong where neighbours look alike."""
    h, w, _ = feats.shape
    diffs = []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        # d[y, x]: squared feature difference between (y, x) and (y + dy, x + dx)
        d = np.zeros((h, w), np.float32)
        src = slice(0, w - dx) if dx >= 0 else slice(-dx, w)
        dst = slice(dx, w) if dx >= 0 else slice(0, w + dx)
        d[: h - dy, src] = ((feats[dy:, dst] - feats[: h - dy, src]) ** 2).sum(axis=2)
        diffs.append(((dy, dx), d))
    beta = 1.0 / (2 * np.mean([d.mean() for _, d in diffs]) + 1e-6)
    out = []
    for (dy, dx), d in diffs:
        structure = np.zeros((3, 3))
        structure[1 + dy, 1 + dx] = 1.0
        out.append((strength * np.exp(-beta * d) / np.hypot(dy, dx), structure))
    return out


def cut(
    log_odds: np.ndarray,
    edges: list[tuple[np.ndarray, np.ndarray]],
    defect_seeds: np.ndarray,
    normal_seeds: np.ndarray,
) -> np.ndarray:
    """The min-cut labelling: True where defect. Seeds are hard constraints."""
    graph = maxflow.Graph[float]()
    nodes = graph.add_grid_nodes(log_odds.shape)
    for weights, structure in edges:
        graph.add_grid_edges(nodes, weights=weights, structure=structure, symmetric=True)
    source = np.maximum(log_odds, 0).astype(np.float64)
    sink = np.maximum(-log_odds, 0).astype(np.float64)
    source[defect_seeds], sink[defect_seeds] = HARD, 0
    source[normal_seeds], sink[normal_seeds] = 0, HARD
    graph.add_grid_tedges(nodes, source, sink)
    graph.maxflow()
    return ~graph.get_grid_segments(nodes)  # segments are True on the sink (normal) side
