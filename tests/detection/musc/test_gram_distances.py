"""One Gram matrix per pair serves every LNAMD degree: the same distances as pooling first.

The comparison is with LNAMD applied per degree (`lnamd`: LayerNorm, zero-padded r x r mean, L2
norm) and every patch distance taken by broadcasting, on grids with an odd and an even side, not
square, so that an axis read the wrong way round or a box placed off by one would show. The
pool's divisor (r^2, padding counted) cancels in the L2 normalisation, so it is not what these
tests can catch; the zero padding itself is (`test_a_wrong_identity_would_be_caught`).
"""

import pytest
import torch
import torch.nn.functional as F

from tests.tolerances import assert_kernels_agree
from zsad_desktop.detection.methods.musc.gram_distances import as_patches, degree_distances, layer_normed
from zsad_desktop.detection.methods.musc.scoring import interval_mean, lnamd

pytestmark = pytest.mark.reference  # numeric comparisons, rerun under other CPU kernels

DEGREES = (1, 3, 5)
#: distances of unit vectors (0 to 2) from two orders of float32 sums; observed 7.2e-7 with
#: ATEN_CPU_CAPABILITY=avx2 and =default (ONEDNN_MAX_CPU_ISA=SSE41), about 14x margin
DISTANCE_BOUND = 1e-5


def _tokens(n, grid, c=32, seed=0):
    """Random tokens with a class token, images alike as a real folder's are."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(1, 1 + grid[0] * grid[1], c, generator=gen)
    return base + 0.5 * torch.randn(n, 1 + grid[0] * grid[1], c, generator=gen)


def _nearest(z, refs):
    """(Q, P, C), (R, P, C) -> (Q, P, R) by broadcasting every patch pair."""
    return (z[:, None, :, None] - refs[None, :, None]).norm(dim=-1).amin(-1).transpose(1, 2)


def _per_degree(tokens, grid, r, pool=lnamd):
    z = pool([tokens], grid, r)[:, :, 0]
    d = _nearest(z, z)
    d[torch.arange(len(z)), :, torch.arange(len(z))] = float("inf")
    return d


def _x(tokens, grid):
    return as_patches(layer_normed(tokens, grid))


@pytest.mark.parametrize("grid", [(6, 5), (5, 8)])
@pytest.mark.parametrize("budget", [1, 1 << 30])  # one image a block, all images in one
def test_each_degree_equals_lnamd_then_every_patch_distance(grid, budget):
    tokens = _tokens(6, grid)
    ours = degree_distances(_x(tokens, grid), grid, DEGREES, budget_bytes=budget)
    assert ours.shape == (3, 6, grid[0] * grid[1], 6)
    for d, r in enumerate(DEGREES):
        want = _per_degree(tokens, grid, r)
        off = ~torch.isinf(want)
        assert torch.isinf(ours[d][~off]).all()  # an image is not its own reference
        assert_kernels_agree(ours[d][off], want[off], DISTANCE_BOUND, f"degree {r} distances")


def _replicate_padded(tokens, grid, r):
    """LNAMD with the border patches repeated instead of zeros: a wrong padding."""
    h, w = grid
    x = layer_normed(tokens[0], grid)
    if r > 1:
        x = F.avg_pool2d(F.pad(x, (r // 2,) * 4, mode="replicate"), r, stride=1)
    return F.normalize(x.flatten(2).transpose(1, 2), dim=-1)[:, :, None]


def _transposed(tokens, grid, r):
    """LNAMD on the grid read as (w, h): the neighbourhoods of another layout."""
    return lnamd(tokens, grid[::-1], r)


def test_a_wrong_identity_would_be_caught():
    """The comparison above tells the right pooling from near misses by far more than its bound."""
    grid = (6, 5)
    tokens = _tokens(6, grid)
    ours = degree_distances(_x(tokens, grid), grid, DEGREES)
    unpooled = _per_degree(tokens, grid, 1)
    for d, r in enumerate(DEGREES[1:], start=1):
        off = ~torch.isinf(unpooled)
        for wrong in (
            _per_degree(tokens, grid, r, _replicate_padded),
            _per_degree(tokens, grid, r, _transposed),
            unpooled,
        ):
            assert (ours[d][off] - wrong[off]).abs().max() > 100 * DISTANCE_BOUND


@pytest.mark.parametrize("budget", [1, 4 * 30 * 30 * 2, 1 << 30])  # one reference a block, two, all
def test_references_are_scored_alike(budget):
    grid = (6, 5)
    query, refs = _tokens(3, grid, seed=1), _tokens(5, grid, seed=2)
    ours = degree_distances(_x(query, grid), grid, DEGREES, _x(refs, grid), budget_bytes=budget)
    assert ours.shape == (3, 3, 30, 5)
    for d, r in enumerate(DEGREES):
        want = _nearest(lnamd([query], grid, r)[:, :, 0], lnamd([refs], grid, r)[:, :, 0])
        assert_kernels_agree(ours[d], want, DISTANCE_BOUND, f"degree {r} distances to references")


def test_bfloat16_products_agree_with_float32():
    grid = (6, 5)
    x = _x(_tokens(5, grid, c=64), grid)
    exact = interval_mean(degree_distances(x, grid, DEGREES), 0.3, 4)
    low = interval_mean(degree_distances(x, grid, DEGREES, dtype=torch.bfloat16), 0.3, 4)
    assert (low - exact).abs().max().item() <= 2e-2
    assert torch.corrcoef(torch.stack([low.flatten(), exact.flatten()]))[0, 1] > 0.99
    assert (low != exact).any()  # the products did run in bfloat16


def test_cancel_is_polled_every_block_and_stops_at_once():
    grid = (6, 5)
    x = _x(_tokens(5, grid), grid)
    polls = []
    degree_distances(x, grid, DEGREES, cancel=lambda: polls.append(1) and False, budget_bytes=1)
    assert len(polls) == 5 * 4 // 2  # one image a block: a poll before every pair
    polls.clear()
    with pytest.raises(InterruptedError):
        degree_distances(x, grid, DEGREES, cancel=lambda: polls.append(1) or len(polls) >= 3, budget_bytes=1)
    assert len(polls) == 3
