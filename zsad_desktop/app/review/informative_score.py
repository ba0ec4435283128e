"""The "most informative first" score of an image: how much a review of it would teach the model.

From what the application already has, no new inference:

- closeness to the decision threshold, `1 - 2 |q(score) - q(threshold)|` clipped to 0..1, where q is
  the quantile among the version's image scores (the threshold defaults to the median). Quantiles make
  it independent of each method's score scale; 1 at the threshold, 0 at the far ends.
- disagreement with the parent version (or another method) on the same images, `|q_active - q_other|`:
  0 when both rank the image alike, 1 when one puts it first and the other last.

informativeness = CLOSENESS_WEIGHT * closeness + DISAGREEMENT_WEIGHT * disagreement (0 where the image
has no second opinion). Ties are broken by the image's key so the order is repeatable.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

import numpy as np

Key = TypeVar("Key", bound=Hashable)  # images' keys: ids, paths

CLOSENESS_WEIGHT = 1.0
DISAGREEMENT_WEIGHT = 1.0


def quantiles(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """Each score's place among all of them, 0 (lowest) .. 1 (highest); equal scores share a place."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size < 2:
        return np.full(values.shape, 0.5)
    ordered = np.sort(values)
    below = np.searchsorted(ordered, values, "left")
    upto = np.searchsorted(ordered, values, "right") - 1
    return (below + upto) / 2 / (values.size - 1)


def closeness(scores: Sequence[float], threshold: float | None = None) -> np.ndarray:
    """1 at the decision threshold's quantile (the median when None), falling to 0 at either end."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return values
    places = quantiles(values)
    at = (
        0.5
        if threshold is None
        else float(np.searchsorted(np.sort(values), threshold)) / max(values.size - 1, 1)
    )
    return np.clip(1.0 - 2.0 * np.abs(places - min(at, 1.0)), 0.0, 1.0)


def disagreement(active: Sequence[float], other: Sequence[float]) -> np.ndarray:
    """|quantile under the active version - quantile under the other| for the same images, in order."""
    if len(active) != len(other):
        raise ValueError(f"two opinions on different images: {len(active)} and {len(other)} scores")
    return np.abs(quantiles(active) - quantiles(other))


def informativeness(
    scores: Mapping[Key, float],
    other: Mapping[Key, float] | None = None,
    threshold: float | None = None,
) -> dict[Key, float]:
    """The score of each image (keyed as `scores`), from the active version's scores and, where given,
    the parent version's (or another method's) scores of the same images."""
    keys = list(scores)
    out = dict(zip(keys, CLOSENESS_WEIGHT * closeness([scores[k] for k in keys], threshold)))
    shared = [k for k in keys if other and k in other]
    if len(shared) >= 2:
        apart = disagreement([scores[k] for k in shared], [other[k] for k in shared])  # type: ignore[index]
        for key, value in zip(shared, apart):
            out[key] += DISAGREEMENT_WEIGHT * float(value)
    return {k: float(v) for k, v in out.items()}


def most_informative_first(values: Mapping[Hashable, float]) -> list[Hashable]:
    """Keys by informativeness, highest first; equal values by key, so the order never varies."""
    return sorted(values, key=lambda k: (-values[k], k))
