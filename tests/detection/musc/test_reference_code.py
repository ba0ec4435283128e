"""`musc` against numbers recorded from the authors' code.

Where they came from: xrli-U/MuSc at commit b76b93da8bd3096a99964a96ae29d46f197a0651,
run on CPU outside this repository by `reference_run.py` (beside this file) with
this package's venv: their vendored open_clip built from `stand_in.CONFIG` and filled by
`stand_in.fill_visual`, their `encode_image(x, [3, 6, 9, 12])`, `LNAMD._embed`
for r = 1, 3, 5, `MSM(topmin_min=0, topmin_max=0.3)` per layer, the means over
layers and degrees as `make_category_data`, the maximum of the map upsampled
bilinearly (align_corners=True) to 112 px, and `RsCIN(k_list=[1, 2, 3])`.
Departures that cannot match: their dataset's own resizing is replaced by
this package's `to_model_input` on both sides (same pixels in), and their
maps at the input size are compared on the grid (this package resizes maps
to each image's own size instead).
"""

import json
import tempfile
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch

from tests.detection.musc import stand_in
from zsad_desktop.detection.backbone import BackboneSpec, load_backbone
from zsad_desktop.detection.interface import create_detector
from zsad_desktop.detection.methods.musc.scoring import rscin
from zsad_desktop.imaging import read_rgb8

pytestmark = pytest.mark.reference

THEIRS = {
    "token_layer3_first": [4.788891315460205, -3.5360612869262695, -2.344879627227783, 1.7359731197357178],
    "token_layer12_sum": -5678.7374735586345,
    "grid_sum": [
        2.2325601257228604,
        1.9788027192310742,
        2.3622775324620306,
        2.565924669150263,
        6.126129473869999,
        3.2186623580443365,
    ],
    "grid_max": [
        0.10258863819763064,
        0.06638850504532456,
        0.07040736638009548,
        0.1079692174680531,
        0.20181498676538467,
        0.14977347819755474,
    ],
    "grid_min": [
        0.0164763901848346,
        0.017028874640042584,
        0.026021531006942194,
        0.02877898917843898,
        0.0695826845864455,
        0.03348725801333785,
    ],
    "grid_first_image_row0": [
        0.025322398481269676,
        0.026997115618238848,
        0.031171323421100777,
        0.036577126709744334,
        0.03678930612901846,
        0.028572616788248222,
        0.023147312148163717,
        0.01968958438374102,
    ],
    "grid_crack_argmax": 21,
    "raw_scores": [
        0.10132290701994455,
        0.06565880268020317,
        0.06981681596958525,
        0.10573801050771738,
        0.20027600122317926,
        0.14687693753287231,
    ],
    "rscin_scores": [
        0.19498209655284882,
        0.10665939003229141,
        0.051951635628938675,
        0.18540261685848236,
        0.7610868811607361,
        0.401842325925827,
    ],
}


@pytest.fixture(scope="module")
def stand_in_backbone():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stand_in.NAME}.json"
        path.write_text(json.dumps(stand_in.CONFIG))
        open_clip.add_model_config(path)
    backbone = load_backbone(BackboneSpec(stand_in.NAME, "random", image_size=112))
    stand_in.fill_visual(backbone.model)
    return backbone


@pytest.fixture(scope="module")
def stand_in_musc(stand_in_backbone):
    # The exact engine is the one held to the authors' numbers; the fast one is held to it below.
    return create_detector("musc", backbone=stand_in_backbone, layers=stand_in.LAYERS, engine="exact")


def test_matches_the_authors_code(shared_data, stand_in_musc):
    musc = stand_in_musc
    images = [read_rgb8(shared_data / "mvtec_ad/hazelnut" / p) for p in stand_in.IMAGES]
    feats = musc.extract(images)
    np.testing.assert_allclose(
        feats.tokens[0][0, 1, :4].numpy(), THEIRS["token_layer3_first"], rtol=1e-5, atol=1e-5
    )
    assert feats.tokens[3].double().sum().item() == pytest.approx(THEIRS["token_layer12_sum"], rel=1e-5)
    grid = musc.grid_maps(feats).flatten(1).numpy()
    for key, ours in (
        ("grid_sum", grid.sum(1)),
        ("grid_max", grid.max(1)),
        ("grid_min", grid.min(1)),
        ("grid_first_image_row0", grid[0, :8]),
    ):
        np.testing.assert_allclose(ours, THEIRS[key], atol=1e-5, err_msg=key)
    assert int(grid[4].argmax()) == THEIRS["grid_crack_argmax"]
    raw = musc.raw_scores(torch.from_numpy(grid).reshape(-1, 8, 8))
    np.testing.assert_allclose(raw.numpy(), THEIRS["raw_scores"], atol=1e-5)
    scores = rscin(raw, feats.embeddings.double(), (1, 2, 3))
    np.testing.assert_allclose(scores.numpy(), THEIRS["rscin_scores"], atol=1e-5)
    detections = musc.score_folder(images)  # the public path gives the same scores
    np.testing.assert_allclose([d.score for d in detections], THEIRS["rscin_scores"], atol=1e-5)


def test_the_fast_engine_stays_within_1e_4_of_the_exact_one(shared_data, stand_in_backbone, stand_in_musc):
    images = [read_rgb8(shared_data / "mvtec_ad/hazelnut" / p) for p in stand_in.IMAGES]
    fast = create_detector(
        "musc", backbone=stand_in_backbone, layers=stand_in.LAYERS, engine="fast", precision="float32"
    )
    exact_grid = stand_in_musc.grid_maps(stand_in_musc.extract(images))
    fast_grid = fast.grid_maps(fast.extract(images))
    assert (fast_grid - exact_grid).abs().max() <= 1e-4
    assert not torch.equal(
        fast_grid, exact_grid
    )  # the fast engine did run (oneDNN products round differently)
