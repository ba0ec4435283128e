"""`musc` against numbers recorded from the authors' code (`reference_numbers.py`).

Where they came from: xrli-U/MuSc at commit b76b93da8bd3096a99964a96ae29d46f197a0651,
run on CPU outside this repository by `reference_run.py` (beside this file) with
this package's venv: their vendored open_clip built from `stand_in.CONFIG` and filled by
`stand_in.fill_visual`, their `encode_image(x, [3, 6, 9, 12])`, `LNAMD._embed`
for r = 1, 3, 5, `MSM(topmin_min=0, topmin_max=0.3)` per layer, the means over
layers and degrees as `make_category_data`, the maximum of the map upsampled
bilinearly (align_corners=True) to the input size, and `RsCIN(k_list=[1, 2, 3])`.
At the resized size their model is built at that size and the stand-in's weights
loaded through their `resize_pos_embed` (bicubic, no antialias).
Departures that cannot match: their dataset's own resizing is replaced by
this package's `to_model_input` on both sides (same pixels in), and their
maps at the input size are compared on the grid (this package resizes maps
to each image's own size instead).

Tolerances say what they compare: element-wise values within 1e-5 of their
magnitude (1e-5 absolute below 1); the token sum relative 1e-5. The grid maps'
sums (64 or 169 values that come out of other kernels on other CPUs) get the
bound measured across kernels, as do the RsCIN scores (in 0..1): the numbers
were recorded on a CPU with AVX-512; against them this package's grid sums
differ by 8.5e-6 relative with AVX2 kernels and by up to 1.3e-5 with
ATEN_CPU_CAPABILITY=default (no SIMD), the scores by up to 1.15e-5, while every
grid value stays within 1.5e-6. Resizing with antialias moves the sums by 1.9e-3.
"""

import json
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch

from tests.detection.musc import reference_numbers as recorded
from tests.detection.musc import stand_in
from zsad_desktop.detection.backbone import BackboneSpec, load_backbone
from zsad_desktop.detection.interface import create_detector
from zsad_desktop.detection.methods.musc.scoring import rscin
from zsad_desktop.imaging import read_rgb8

pytestmark = pytest.mark.reference

TOLERANCE = 1e-5
GRID_SUM_TOLERANCE = 2e-5  # relative, measured across kernels (module docstring)
SCORE_TOLERANCE = 2e-5  # absolute on RsCIN scores in 0..1, measured across kernels
SIZES = {recorded.NATIVE_SIZE: recorded.NATIVE, recorded.RESIZED_SIZE: recorded.RESIZED}


def assert_elementwise(ours, theirs, what: str, tolerance: float = TOLERANCE) -> None:
    """|ours - theirs| within `tolerance` of the values' magnitude (at least 1)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    bound = tolerance * max(1.0, float(np.abs(theirs).max()))
    worst = float(np.abs(ours - theirs).max())
    assert worst <= bound, f"{what}: largest difference {worst:.3g} > {bound:.3g}"


def assert_sums(ours, theirs, what: str, tolerance: float = TOLERANCE) -> None:
    """Sums compared relatively: each within `tolerance` of its own size."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    relative = np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-12)
    assert relative.max() <= tolerance, f"{what}: relative difference {relative.max():.3g} > {tolerance}"


def compare_with_theirs(musc, images, theirs) -> None:
    feats = musc.extract(images)
    side = feats.grid[0]
    assert_elementwise(feats.tokens[0][0, 1, :4], theirs["token_layer3_first"], "token_layer3_first")
    assert_sums(feats.tokens[3].double().sum().item(), theirs["token_layer12_sum"], "token_layer12_sum")
    grid = musc.grid_maps(feats).flatten(1).numpy()
    assert_sums(grid.sum(1), theirs["grid_sum"], "grid_sum", GRID_SUM_TOLERANCE)
    assert_elementwise(grid.max(1), theirs["grid_max"], "grid_max")
    assert_elementwise(grid.min(1), theirs["grid_min"], "grid_min")
    assert_elementwise(grid[0, :side], theirs["grid_first_image_row0"], "grid_first_image_row0")
    assert int(grid[4].argmax()) == theirs["grid_crack_argmax"]
    raw = musc.raw_scores(torch.from_numpy(grid).reshape(-1, side, side))
    assert_elementwise(raw, theirs["raw_scores"], "raw_scores")
    scores = rscin(raw, feats.embeddings.double(), (1, 2, 3))
    assert_elementwise(scores, theirs["rscin_scores"], "rscin_scores", SCORE_TOLERANCE)
    detections = musc.score_folder(images)  # the public path gives the same scores
    assert_elementwise(
        [d.score for d in detections], theirs["rscin_scores"], "score_folder scores", SCORE_TOLERANCE
    )


@pytest.fixture(scope="module")
def stand_in_backbone():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stand_in.NAME}.json"
        path.write_text(json.dumps(stand_in.CONFIG))
        open_clip.add_model_config(path)
    backbone = load_backbone(BackboneSpec(stand_in.NAME, "random", image_size=recorded.NATIVE_SIZE))
    stand_in.fill_visual(backbone.model)
    return backbone


def stand_in_musc(backbone, size: int, **options):
    # The exact engine is the one held to the authors' numbers; the fast one is held to it below.
    at_size = replace(backbone, spec=replace(backbone.spec, image_size=size))  # same model, other input
    return create_detector("musc", backbone=at_size, layers=stand_in.LAYERS, engine="exact", **options)


@pytest.fixture(scope="module")
def hazelnut(shared_data):
    return [read_rgb8(shared_data / "mvtec_ad/hazelnut" / p) for p in stand_in.IMAGES]


@pytest.mark.parametrize("size", sorted(SIZES))
def test_matches_the_authors_code(hazelnut, stand_in_backbone, size):
    musc = stand_in_musc(stand_in_backbone, size)
    assert musc.gelu == "exact"  # their code builds every backbone with exact GELU
    compare_with_theirs(musc, hazelnut, SIZES[size])


def test_a_position_embedding_resized_with_antialias_departs_from_theirs(hazelnut, stand_in_backbone):
    """The resized comparison can fail: torch's other bicubic kernel (antialias) is not theirs."""
    musc = stand_in_musc(stand_in_backbone, recorded.RESIZED_SIZE)
    musc.features.config = replace(musc.features.config, pos_antialias=True)
    with pytest.raises(AssertionError, match="token_layer3_first|token_layer12_sum"):
        compare_with_theirs(musc, hazelnut, recorded.RESIZED)


def test_the_fast_engine_stays_within_1e_4_of_the_exact_one(hazelnut, stand_in_backbone):
    exact = stand_in_musc(stand_in_backbone, recorded.NATIVE_SIZE)
    fast = create_detector(
        "musc", backbone=exact.backbone, layers=stand_in.LAYERS, engine="fast", precision="float32"
    )
    exact_grid = exact.grid_maps(exact.extract(hazelnut))
    fast_grid = fast.grid_maps(fast.extract(hazelnut))
    assert (fast_grid - exact_grid).abs().max() <= 1e-4
    assert not torch.equal(
        fast_grid, exact_grid
    )  # the fast engine did run (oneDNN products round differently)
