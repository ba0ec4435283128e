import numpy as np
import pytest
import torch

from tests.detection.musc.conftest import baseline, folder, musc, normal_masks  # noqa: F401 (fixtures)
from tests.tolerances import assert_close_to_scale
from zsad_desktop.detection.normal_memory import NormalMemory, greedy_coreset, nearest_distances
from zsad_desktop.evaluation.metrics import pixel_auroc

MEMORY_NORMALS = 10  # hazelnut has 7 normal images in all: its memory holds 7


def test_add_remove_and_version():
    memory = NormalMemory()
    memory.add("a", torch.zeros(4, 3))
    memory.add("b", torch.ones(4, 3))
    assert len(memory) == 2 and memory.version == 2 and memory.patch_count == 8
    assert memory.distances(torch.full((1, 3), 1.0)).item() == 0.0
    assert memory.remove("b") and not memory.remove("b")
    assert memory.version == 3
    assert memory.distances(torch.full((1, 3), 1.0)).item() == pytest.approx(3**0.5)


@pytest.mark.reference
def test_distances_are_the_brute_force_nearest_neighbour():
    torch.manual_seed(0)
    bank, query = torch.randn(5000, 16), torch.randn(50, 16)
    expect = ((query[:, None] - bank[None]) ** 2).sum(-1).sqrt().min(1).values
    # distances from |q|^2 + |b|^2 - 2 q.b: rounding scales with the vectors' size. The largest seen with
    # ATEN_CPU_CAPABILITY=avx2 / =default on an AMD EPYC without AVX-512 (tests/tolerances.py) was
    # 4.4e-7 / 3.7e-7 of the largest distance; the bound keeps ~10x.
    assert_close_to_scale(nearest_distances(query, bank, chunk=777), expect, 5e-6, "nearest distances")


def test_a_memory_over_budget_is_a_coreset_of_it():
    torch.manual_seed(0)
    memory = NormalMemory(budget=100)
    for i in range(4):
        memory.add(str(i), torch.randn(64, 32))
    bank = memory.bank()
    assert bank.shape == (100, 32)
    full = torch.cat([memory._features[i] for i in memory.image_ids()])
    assert (bank[:, None] == full[None]).all(-1).any(1).all()  # every kept patch is a stored one
    # k-center spreads out: its covering radius beats a random pick of the same size
    random_pick = full[torch.randperm(full.shape[0])[:100]]
    assert nearest_distances(full, bank).max() < nearest_distances(full, random_pick).max()
    assert greedy_coreset(full, 10).shape == (10, 32)


def test_random_projection_keeps_nearest_neighbour_distances():
    torch.manual_seed(0)
    bank, query = torch.randn(2000, 512), torch.randn(100, 512)
    exact = nearest_distances(query, bank)
    memory = NormalMemory(projection_dim=256)
    memory.add("a", bank)
    assert memory.bank().shape == (2000, 256)
    relative = (memory.distances(query) / exact - 1).abs()
    assert relative.max() < 0.25 and relative.mean() < 0.08, (relative.max(), relative.mean())


def test_save_and_load_round_trip_atomically(tmp_path):
    memory = NormalMemory(budget=50, projection_dim=2)
    memory.add("x", torch.randn(8, 4), np.linspace(0, 1, 64).reshape(8, 8))
    memory.add("y", torch.randn(8, 4), np.linspace(1, 2, 64).reshape(8, 8))
    path = tmp_path / "memory.pt"
    memory.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["memory.pt"]  # no temporary file left
    again = NormalMemory.load(path)
    assert again.version == memory.version and again.image_ids() == ["x", "y"]
    query = torch.randn(3, 4)
    assert torch.equal(again.distances(query), memory.distances(query))
    assert again.stats() == memory.stats()


def test_fusion_is_a_sum_of_maps_standardised_on_normals():
    memory = NormalMemory()
    memory.add("a", torch.zeros(2, 1), np.array([0.0, 2.0]))
    memory.add("b", torch.full((2, 1), 2.0), np.array([0.0, 2.0]))
    mem_stats, zs_stats = memory.stats()
    assert (zs_stats.mean, zs_stats.std) == (1.0, 1.0)
    assert (mem_stats.mean, mem_stats.std) == (2.0, 0.0) or mem_stats.mean == 2.0
    fused = memory.fuse(np.array([3.0]), np.array([2.0]))
    assert fused.dtype == np.float32 and fused[0] == pytest.approx(2.0 + mem_stats.standardise(2.0))


def test_normal_memory_raises_pixel_auroc_of_the_zero_shot_baseline(folder, baseline, musc):
    name, goods, bad, masks = folder
    normals, held = goods[:MEMORY_NORMALS], goods[MEMORY_NORMALS:] + bad
    truth = normal_masks(goods[MEMORY_NORMALS:]) + masks
    memory = NormalMemory()
    features, grid = musc.patch_features(normals)
    for i, detection in enumerate(baseline.predict(normals)):
        memory.add(f"normal-{i}", features[i], detection.heatmap)
    zero_shot = [d.heatmap for d in baseline.predict(held)]
    held_features, _ = musc.patch_features(held)
    memory_maps = [
        musc.grid_to_heatmap(memory.distances(f), grid, image.shape[:2])
        for f, image in zip(held_features, held)
    ]
    without = pixel_auroc(truth, zero_shot)
    with_memory = pixel_auroc(truth, [memory.fuse(z, m) for z, m in zip(zero_shot, memory_maps)])
    assert with_memory > without, (
        f"{name}: the memory of {len(memory)} normals lowers pixel AUROC by {without - with_memory:.4f} ({without:.4f} -> {with_memory:.4f})"
    )
