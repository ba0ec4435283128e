"""Training Crane's prompts: the reference's loss decreases, the result is a loadable model folder."""

import threading

import numpy as np
import pytest
import torch

from tests.detection.crane.conftest import SPEC
from zsad_desktop.detection.methods.crane.checkpoint import load_prompt_checkpoint
from zsad_desktop.detection.methods.crane.detector import CraneDetector
from zsad_desktop.detection.methods.crane.prompt_learner import CranePromptLearner
from zsad_desktop.detection.methods.crane.trainer import CraneTrainingConfig, crane_loss
from zsad_desktop.detection.saved_model import load_saved_model, read_manifest
from zsad_desktop.detection.training import TrainingCancelled, samples_from_dataset, train_method
from zsad_desktop.imaging import read_rgb8


@pytest.fixture(scope="module")
def samples(shared_data):
    return samples_from_dataset(shared_data / "mvtec_ad" / "hazelnut")


def test_defaults_are_the_reference_recipe():
    config = CraneTrainingConfig()
    assert (config.epochs, config.batch_size, config.learning_rate, config.betas) == (
        5,
        8,
        1e-3,
        (0.6, 0.999),
    )
    assert (config.focal_weight, config.dice_weight, config.image_weight, config.image_temperature) == (
        2.0,
        2.0,
        0.2,
        0.01,
    )
    assert (
        config.image_token
        and not config.image_token_at_test
        and config.upsampling == "nearest"
        and not config.augment
    )


def test_only_the_prompts_receive_gradients(backbone):
    learner = CranePromptLearner(backbone)
    detector = CraneDetector(backbone=backbone, trained_prompts=learner)
    pixels = torch.randn(2, 3, 112, 112, generator=torch.Generator().manual_seed(0))
    masks = torch.zeros(2, 112, 112)
    masks[0, 40:70, 40:70] = 1
    loss = crane_loss(detector, pixels, masks, torch.tensor([1, 0]), CraneTrainingConfig())
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in learner.parameters())
    assert all(p.grad is None for p in backbone.model.parameters())


def test_training_decreases_the_loss_and_saves_a_loadable_model(tmp_path, samples):
    progress = []
    result = train_method(
        "crane",
        backbone_spec=SPEC,
        train_samples=samples,
        out_dir=tmp_path / "model",
        config={"epochs": 2, "batch_size": 5},
        device="cpu",
        progress=progress.append,
    )
    assert len(result.losses) == 2 and result.losses[-1] < result.losses[0]
    assert len(progress) == 4 and progress[-1].epoch == 2 and progress[-1].stage == "prompts"
    manifest = read_manifest(result.model_dir)
    assert manifest["method"] == "crane" and manifest["settings"]["image_token"] is False
    detector = load_saved_model(result.model_dir, device="cpu")
    assert detector.method == "crane" and detector.checkpoint == result.model_dir / "prompt_learner.pth"
    trained = CranePromptLearner(detector.backbone)
    load_prompt_checkpoint(trained, result.model_dir / "prompt_learner.pth")  # the released format, strictly
    heat = detector.predict([read_rgb8(samples[0].image_path)])[0].heatmap
    assert np.isfinite(heat).all()


def test_cancelled_training_keeps_the_previous_model(tmp_path, samples):
    out = tmp_path / "model"
    out.mkdir()
    (out / "model.json").write_text('{"previous": true}')
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(TrainingCancelled):
        train_method(
            "crane",
            backbone_spec=SPEC,
            train_samples=samples,
            out_dir=out,
            config={"epochs": 1},
            device="cpu",
            cancel=cancel,
        )
    assert (out / "model.json").read_text() == '{"previous": true}'
