"""GPU paths (skipped without CUDA; bench/gpu_check.sh runs them): engines on CUDA, autocast in
bfloat16 and float16, and batches halved when the GPU runs out of memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import TINY
from tests.tolerances import assert_kernels_agree
from zsad_desktop.detection.backbone import BackboneSpec, shared_backbone
from zsad_desktop.detection.device import map_in_batches
from zsad_desktop.detection.execution import resolve_precision
from zsad_desktop.detection.interface import create_detector

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

# maps and scores of different CUDA kernels (or batch shapes) in float32, TF32 off: the CPU's bound
# (tests/detection/test_engine.py), not measured across GPUs
GPU_MAP_BOUND = 1e-4


@pytest.fixture(scope="module")
def gpu_backbone():
    # float32 means float32 here: no TF32 in convolutions or matrix products.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    return shared_backbone(BackboneSpec(TINY, "random", image_size=224), "cuda")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (200 + 10 * i, 240, 3), dtype=np.uint8) for i in range(4)]


def test_default_precision_on_a_gpu_is_reduced():
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    assert resolve_precision(torch.device("cuda"), "auto") == expected


@pytest.mark.parametrize("dense_attention", ["vv", "qkv"])
def test_fast_engine_on_cuda_equals_exact(gpu_backbone, images, dense_attention):
    exact = create_detector(
        "baseline", backbone=gpu_backbone, dense_attention=dense_attention, engine="exact"
    ).predict(images)
    fast = create_detector(
        "baseline", backbone=gpu_backbone, dense_attention=dense_attention, engine="fast", precision="float32"
    ).predict(images)
    for a, b in zip(exact, fast):
        assert_kernels_agree(b.heatmap, a.heatmap, GPU_MAP_BOUND, "map")
        assert_kernels_agree(b.score, a.score, GPU_MAP_BOUND, "score")


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_autocast_runs_in_reduced_precision_and_stays_close(gpu_backbone, images, precision):
    if precision == "bfloat16" and not torch.cuda.is_bf16_supported():
        pytest.skip("no bfloat16 on this GPU")
    full = create_detector("baseline", backbone=gpu_backbone, precision="float32").predict(images)
    seen = []
    layer = gpu_backbone.model.visual.transformer.resblocks[-1].mlp.c_fc
    hook = layer.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    try:
        reduced = create_detector("baseline", backbone=gpu_backbone, precision=precision).predict(images)
    finally:
        hook.remove()
    assert seen and all(d == getattr(torch, precision) for d in seen)
    for a, b in zip(full, reduced):
        assert b.heatmap.dtype == np.float32 and np.isfinite(b.heatmap).all()
        assert np.corrcoef(a.heatmap.ravel(), b.heatmap.ravel())[0, 1] > 0.98


@pytest.fixture
def memory_cap():
    """Sets a per-process cap as a fraction of the GPU; undone afterwards."""
    total = torch.cuda.get_device_properties(0).total_memory

    def cap(bytes_allowed: int) -> None:
        torch.cuda.empty_cache()
        torch.cuda.set_per_process_memory_fraction(min(1.0, bytes_allowed / total))

    yield cap
    torch.cuda.set_per_process_memory_fraction(1.0)
    torch.cuda.empty_cache()


def test_out_of_memory_halves_the_batch_until_it_fits(memory_cap):
    per_item = 256 * 2**20
    sizes = []

    def work(chunk):
        sizes.append(len(chunk))
        block = torch.empty(
            len(chunk) * per_item, dtype=torch.uint8, device="cuda"
        )  # memory grows with the batch
        del block
        return [x * 2 for x in chunk]

    memory_cap(torch.cuda.memory_allocated() + 3 * per_item)
    assert map_in_batches(work, list(range(10)), 8) == [x * 2 for x in range(10)]
    assert sizes[:3] == [8, 4, 2] and max(sizes[2:]) <= 2  # 8 and 4 fail, 2 fits and stays


def test_a_detector_under_a_small_memory_cap_halves_its_batch_and_gives_the_same_maps(
    gpu_backbone, images, memory_cap
):
    detector = create_detector(
        "baseline", backbone=gpu_backbone, engine="exact", precision="float32", batch_size=1
    )
    alone = detector.predict(images)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    detector.predict(images[:1])
    per_image = torch.cuda.max_memory_allocated() - base
    memory_cap(base + int(2.5 * per_image))  # two images fit, four do not
    detector.batch_size = 4
    halved = detector.predict(images)
    assert len(halved) == len(images)
    for a, b in zip(alone, halved):
        assert_kernels_agree(b.heatmap, a.heatmap, GPU_MAP_BOUND, "map, halved batch")
