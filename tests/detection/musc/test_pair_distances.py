"""Each pair computed once: the same distances and scores as scoring every ordered pair."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from zsad_desktop.detection.methods.musc.pair_distances import approximate_folder_distances, folder_distances
from zsad_desktop.detection.methods.musc.scoring import DEGREES, interval_mean, lnamd, mutual_scores

pytestmark = pytest.mark.reference  # numeric comparisons, rerun under other CPU kernels


def _brute_force(z):
    """(N, P, N): every ordered pair by broadcasting, inf on the diagonal."""
    n = z.shape[0]
    d = torch.stack(
        [
            torch.stack([(z[i][:, None] - z[j][None]).norm(dim=-1).min(1).values for j in range(n)], 1)
            for i in range(n)
        ]
    )
    d[torch.arange(n), :, torch.arange(n)] = float("inf")
    return d


def _tokens(n=7, grid=(6, 5), c=48, seed=0):
    """Random tokens with a class token, with near-duplicate images as in a real folder."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(1, 1 + grid[0] * grid[1], c, generator=gen)
    return base + 0.3 * torch.randn(n, 1 + grid[0] * grid[1], c, generator=gen)


def _aggregated(n=7, grid=(6, 5), c=48, seed=0):
    """LNAMD features of random tokens."""
    return lnamd([_tokens(n, grid, c, seed)], grid, 3)[:, :, 0]


@pytest.mark.parametrize("budget", [1, 4 * 30 * 30 * 3, 1 << 30])  # one image a block, three, all
def test_each_pair_once_equals_every_ordered_pair(budget):
    z = _aggregated()
    np.testing.assert_allclose(
        folder_distances(z, budget_bytes=budget).numpy(), _brute_force(z).numpy(), atol=1e-5
    )


def test_mutual_scores_equal_the_per_degree_scoring_within_1e_5():
    """Every degree from one product per pair: the scores of pooling first, one product per degree."""
    grid = (8, 7)
    tokens = _tokens(n=9, grid=grid, c=64)
    expect = torch.stack(
        [interval_mean(folder_distances(lnamd([tokens], grid, r)[:, :, 0]), 0.3, 8) for r in DEGREES]
    )
    ours = mutual_scores(tokens, grid, DEGREES, fraction=0.3)
    assert ours.shape == (3, 9, 56)
    assert (ours - expect).abs().max().item() <= 1e-5
    assert ours.std() > 1e-3  # the scores do vary: equality is not of constants


def test_cancel_is_polled_between_blocks_and_stops_at_once():
    z = _aggregated(n=6)
    polls = []
    folder_distances(z, cancel=lambda: polls.append(1) and False, budget_bytes=1)
    assert len(polls) == 6 * 5 // 2  # one image a block: a poll before every pair
    polls.clear()
    with pytest.raises(InterruptedError):
        mutual_scores(_tokens(n=6), (6, 5), cancel=lambda: polls.append(1) or len(polls) >= 3)
    assert len(polls) == 3


def test_approximate_mode_scores_every_degree_and_stays_near_the_exact():
    grid = (6, 5)
    tokens = _tokens(n=6, grid=grid, c=64)
    exact = mutual_scores(tokens, grid)
    approximate = mutual_scores(tokens, grid, approximate=True)
    assert approximate.shape == exact.shape == (3, 6, 30)
    assert (approximate >= exact - 1e-5).all()  # true distances, never below the nearest
    assert torch.corrcoef(torch.stack([approximate.flatten(), exact.flatten()]))[0, 1] > 0.9


def test_approximate_distances_are_true_distances_never_below_the_nearest():
    z = _aggregated(n=6, c=64)
    exact = folder_distances(z)
    approximate = approximate_folder_distances(z, dims=16)
    off = ~torch.isinf(exact)
    assert (approximate[off] >= exact[off] - 1e-5).all()
    assert (approximate[off] > exact[off] + 1e-4).any()  # the projection did miss some nearest patches
    a = interval_mean(approximate, 0.3, 5).flatten()
    e = interval_mean(exact, 0.3, 5).flatten()
    assert torch.corrcoef(torch.stack([a, e]))[0, 1] > 0.9
    np.testing.assert_allclose(approximate_folder_distances(z, dims=64).numpy(), exact.numpy(), atol=1e-5)


def test_bfloat16_products_agree_with_float32():
    z = F.normalize(_aggregated(n=5, c=64), dim=-1)
    exact = interval_mean(folder_distances(z), 0.3, 4)
    low = interval_mean(folder_distances(z, dtype=torch.bfloat16), 0.3, 4)
    assert (low - exact).abs().max().item() <= 2e-2
    assert torch.corrcoef(torch.stack([low.flatten(), exact.flatten()]))[0, 1] > 0.99
