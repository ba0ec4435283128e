import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.conftest import TINY
from tests.detection.musc.conftest import normal_masks
from zsad_desktop.detection.interface import DetectorError, available_methods, create_detector
from zsad_desktop.detection.methods.musc import folder_subsets
from zsad_desktop.detection.methods.musc.scoring import (
    interval_mean,
    lnamd,
    mutual_scores,
    rscin,
)
from zsad_desktop.evaluation.metrics import pixel_auroc


def _random_images(n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (60 + i, 70, 3), dtype=np.uint8) for i in range(n)]


def test_musc_is_registered_and_scores_a_folder_with_progress(musc):
    assert "musc" in available_methods()
    images = _random_images(5)
    seen = []
    detections = musc.score_folder(images, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (5, 5)
    for image, d in zip(images, detections):
        assert d.heatmap.shape == image.shape[:2] and d.heatmap.dtype == np.float32
        assert np.isfinite(d.heatmap).all() and np.isfinite(d.score)
        assert d.model_id.startswith("musc:")


def test_cancel_stops_folder_scoring(musc):
    with pytest.raises(InterruptedError):
        musc.score_folder(_random_images(4), cancel=lambda: True)


def test_one_image_needs_others():
    detector = create_detector("musc", model_name=TINY, pretrained="random", image_size=112, device="cpu")
    with pytest.raises(DetectorError, match="reference"):
        detector.predict(_random_images(1))


def test_a_single_image_scored_against_references_is_independent_of_its_batch():
    detector = create_detector(
        "musc", model_name=TINY, pretrained="random", image_size=112, device="cpu", reference_size=4
    )
    before = detector.model_id
    detector.set_references(_random_images(6, seed=1))
    assert detector.model_id != before  # the sample is part of what made the map
    images = _random_images(3, seed=2)
    alone = detector.predict(images[:1])[0]
    together = detector.predict(images)[0]
    np.testing.assert_allclose(alone.heatmap, together.heatmap, atol=1e-5)


def test_subsets_cover_the_folder_once_and_respect_the_size():
    parts = folder_subsets(1001, 200, seed=0)
    assert len(parts) == 6 and max(map(len, parts)) <= 200
    assert sorted(i for p in parts for i in p) == list(range(1001))
    assert folder_subsets(5, 200, 0) == [list(range(5))]


def test_lnamd_is_a_layer_norm_then_zero_padded_neighbourhood_mean():
    torch.manual_seed(0)
    tokens = torch.randn(2, 1 + 16, 8)
    z = lnamd([tokens], (4, 4), 3)[:, :, 0]
    x = tokens[:, 1:].reshape(2, 4, 4, 8)
    x = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / torch.sqrt(
        x.var(dim=(1, 2, 3), unbiased=False, keepdim=True) + 1e-5
    )
    padded = F.pad(x, (0, 0, 1, 1, 1, 1))
    expect = sum(padded[:, i : i + 4, j : j + 4] for i in range(3) for j in range(3)) / 9
    np.testing.assert_allclose(z.numpy(), F.normalize(expect.reshape(2, 16, 8), dim=-1).numpy(), atol=1e-5)


def test_mutual_scoring_finds_the_patch_without_look_alikes():
    torch.manual_seed(0)
    tokens = torch.randn(1, 10, 16).repeat(6, 1, 1) + 0.01 * torch.randn(6, 10, 16)
    tokens[2, 1 + 5] = torch.randn(16)
    scores = mutual_scores(tokens, (3, 3), degrees=(1,))
    assert scores.shape == (1, 6, 9)
    assert scores.argmax() == 2 * 9 + 5
    assert interval_mean(torch.tensor([[4.0, 1.0, 3.0, 2.0]]), 0.5).item() == 1.5


def test_rscin_with_k_1_is_the_min_max_normalised_score():
    scores = torch.tensor([2.0, 4.0, 3.0])
    emb = F.normalize(torch.randn(3, 5), dim=-1)
    np.testing.assert_allclose(rscin(scores, emb, (1,)).numpy(), [0.0, 1.0, 0.5], atol=1e-6)


def test_musc_on_the_folder_beats_the_zero_shot_baseline(folder, baseline, musc):
    """Random features still carry local texture similarity: a defect has no look-alike in the folder."""
    name, goods, bad, masks = folder
    images = goods + bad
    truth = normal_masks(goods) + masks
    zero_shot = pixel_auroc(truth, [d.heatmap for d in baseline.predict(images)])
    mutual = pixel_auroc(truth, [d.heatmap for d in musc.score_folder(images)])
    assert mutual > zero_shot, (
        f"{name}: musc pixel AUROC {mutual:.4f} is {zero_shot - mutual:.4f} below the baseline's {zero_shot:.4f}"
    )


def _activation(detector) -> str:
    return type(detector.backbone.model.visual.transformer.resblocks[0].mlp.gelu).__name__


@pytest.mark.parametrize("gelu, activation", [("exact", "GELU"), ("quick", "QuickGELU")])
def test_the_gelu_option_builds_that_activation_and_names_it_in_the_model_id(gelu, activation):
    tiny = {"model_name": TINY, "pretrained": "random", "image_size": 112, "device": "cpu"}
    detector = create_detector("musc", gelu=gelu, **tiny)
    assert _activation(detector) == activation and detector.settings()["gelu"] == gelu
    other = create_detector("musc", gelu="quick" if gelu == "exact" else "exact", **tiny)
    assert other.model_id != detector.model_id


def test_a_gelu_the_given_backbone_does_not_run_is_refused(baseline):
    own = "quick" if _activation(baseline) == "QuickGELU" else "exact"
    assert create_detector("musc", backbone=baseline.backbone, gelu=own).gelu == own
    with pytest.raises(DetectorError, match="GELU"):
        create_detector("musc", backbone=baseline.backbone, gelu="exact" if own == "quick" else "quick")
    with pytest.raises(DetectorError, match="gelu must be one of"):
        create_detector("musc", backbone=baseline.backbone, gelu="tanh")


def test_gelu_and_approximate_from_the_command_line_and_the_window_settings():
    import argparse

    from zsad_desktop.app.review.detector_settings import DetectorSettings
    from zsad_desktop.cli.detector_options import add_detector_options, build_detector

    parser = argparse.ArgumentParser()
    add_detector_options(parser)
    tiny = ["--model-name", TINY, "--pretrained", "random", "--image-size", "112", "--device", "cpu"]
    detector = build_detector(parser.parse_args([*tiny, "--method", "musc", "--gelu", "quick"]))
    assert _activation(detector) == "QuickGELU" and not detector.approximate
    assert build_detector(parser.parse_args([*tiny, "--method", "musc", "--approximate"])).approximate
    with pytest.raises(DetectorError, match="--approximate applies to musc"):
        build_detector(parser.parse_args([*tiny, "--approximate"]))
    with pytest.raises(DetectorError, match="--gelu applies to musc and aaclip"):
        build_detector(parser.parse_args([*tiny, "--gelu", "exact"]))  # the baseline has no choice
    settings = DetectorSettings(
        method="musc", model_name=TINY, pretrained="random", image_size=112, device="cpu", gelu="quick"
    )
    assert _activation(settings.build()) == "QuickGELU"
    assert DetectorSettings(**{**settings.__dict__, "approximate": True}).build().approximate
    assert _activation(DetectorSettings(**{**settings.__dict__, "method": "baseline"}).build()) == "GELU"
