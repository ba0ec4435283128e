import threading
import numpy as np
import pytest
import torch

from zsad_desktop.detection.backbone import BackboneSpec, shared_backbone
from zsad_desktop.detection.interface import DetectorError, create_detector
from zsad_desktop.detection.methods.crane.checkpoint import load_prompt_checkpoint, save_prompt_checkpoint
from zsad_desktop.detection.methods.crane.detector import CraneDetector
from zsad_desktop.detection.methods.crane.prompt_learner import CranePromptLearner
from zsad_desktop.detection.saved_model import load_saved_model
from zsad_desktop.detection.training import TrainingCancelled, samples_from_dataset, train_method
from zsad_desktop.imaging import read_rgb8

from tests.conftest import CHECKPOINTS, DATA, TINY_TEXT768

SPEC = BackboneSpec(TINY_TEXT768, "random", image_size=112)
RELEASED = sorted((CHECKPOINTS / "crane").glob("*/epoch_5.pth"))


@pytest.fixture(scope="module")
def backbone():
    return shared_backbone(SPEC, "cpu")


@pytest.fixture(scope="module")
def images():
    return [read_rgb8(p) for p in sorted((DATA / "mvtec_ad/hazelnut/test/crack").glob("*.png"))]


@pytest.mark.parametrize("path", RELEASED, ids=lambda p: p.parent.name)
def test_released_checkpoints_load_exactly_and_give_finite_heatmaps(path, backbone, images):
    state = torch.load(path, map_location="cpu")["prompt_learner"]
    detector = CraneDetector(backbone=backbone, checkpoint=str(path), variant="crane")
    for key, value in state.items():  # every key accounted for, values as released
        assert torch.equal(detector.prompts.state_dict()[key].to(value.dtype), value), key
    for image, detection in zip(images, detector.predict(images)):
        assert detection.heatmap.shape == image.shape[:2] and np.isfinite(detection.heatmap).all()
        assert 0.0 <= detection.score <= 1.0


def test_all_four_released_files_are_present():
    assert len(RELEASED) == 4


def test_crane_plus_without_dinov2_is_a_clear_message(backbone):
    path = next(p for p in RELEASED if "cranep" in str(p))
    with pytest.raises(DetectorError, match="DINOv2"):
        CraneDetector(backbone=backbone, checkpoint=str(path))


def test_missing_default_checkpoint_says_where_to_put_it(tmp_path, monkeypatch, backbone):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path))
    with pytest.raises(DetectorError, match=str(tmp_path / "crane" / "trained_on_mvtec_crane")):
        CraneDetector(backbone=backbone)


def test_wrong_or_extra_key_is_refused_with_its_name(tmp_path, backbone):
    learner = CranePromptLearner(backbone)
    state = {k: v.clone() for k, v in learner.state_dict().items()}
    state["surprise"] = torch.zeros(1)
    torch.save({"prompt_learner": state}, tmp_path / "bad.pth")
    with pytest.raises(DetectorError, match="unexpected keys \\['surprise'\\]"):
        load_prompt_checkpoint(learner, tmp_path / "bad.pth")
    del state["surprise"]
    state["ctx_pos"] = torch.zeros(1, 1, 8, 768)
    torch.save({"prompt_learner": state}, tmp_path / "bad.pth")
    with pytest.raises(DetectorError, match="ctx_pos"):
        load_prompt_checkpoint(learner, tmp_path / "bad.pth")


def test_save_load_round_trip_is_exact(tmp_path, backbone):
    torch.manual_seed(5)
    learner = CranePromptLearner(backbone)
    save_prompt_checkpoint(learner, tmp_path / "p.pth")
    other = CranePromptLearner(backbone)
    load_prompt_checkpoint(other, tmp_path / "p.pth")
    for key, value in learner.state_dict().items():
        assert torch.equal(other.state_dict()[key], value)


def test_image_token_changes_text_only_when_on(backbone):
    detector = CraneDetector(backbone=backbone, checkpoint=str(RELEASED[0]))
    with torch.no_grad():
        plain = detector.text_features()
        a = detector.text_features(torch.randn(1, 768, generator=torch.Generator().manual_seed(1)))
        b = detector.text_features(torch.randn(1, 768, generator=torch.Generator().manual_seed(2)))
    assert a.shape == (1, 2, 768) and not torch.allclose(a, b)
    off = CraneDetector(backbone=backbone, checkpoint=str(RELEASED[0]), image_token=False)
    with torch.no_grad():
        off.forward_logits(torch.randn(1, 3, 112, 112, generator=torch.Generator().manual_seed(3)))
    torch.testing.assert_close(off.text_features(), plain)  # images did not change the text


def test_e_attn_leaves_the_original_path_unchanged(backbone):
    detector = CraneDetector(backbone=backbone, checkpoint=str(RELEASED[0]))
    pixels = torch.randn(1, 3, 56, 56, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        native = shared_backbone(BackboneSpec(TINY_TEXT768, "random", image_size=56), "cpu")
        assert torch.equal(CraneDetector(backbone=native, checkpoint=str(RELEASED[0])).extractor(pixels).global_embedding,
                           native.model.encode_image(pixels))


def test_training_decreases_the_loss_and_saves_a_loadable_model(tmp_path, shared_data):
    samples = samples_from_dataset(shared_data / "mvtec_ad" / "hazelnut")
    result = train_method("crane", backbone_spec=SPEC, train_samples=samples, out_dir=tmp_path / "model",
                          config={"epochs": 3, "batch_size": 8}, device="cpu")
    assert result.losses[-1] < result.losses[0]
    detector = load_saved_model(result.model_dir, device="cpu")
    assert detector.method == "crane" and (result.model_dir / "prompt_learner.pth").is_file()
    heat = detector.predict([read_rgb8(samples[0].image_path)])[0].heatmap
    assert np.isfinite(heat).all()


def test_cancelled_training_keeps_the_previous_model(tmp_path, shared_data):
    samples = samples_from_dataset(shared_data / "mvtec_ad" / "hazelnut")
    out = tmp_path / "model"
    out.mkdir()
    (out / "model.json").write_text("{\"previous\": true}")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(TrainingCancelled):
        train_method("crane", backbone_spec=SPEC, train_samples=samples, out_dir=out, config={"epochs": 1}, device="cpu", cancel=cancel)
    assert (out / "model.json").read_text() == "{\"previous\": true}"
