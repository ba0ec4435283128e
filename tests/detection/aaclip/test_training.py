import json
import threading

import numpy as np
import pytest
import torch

from tests.detection.aaclip.conftest import FAST, SPEC
from zsad_desktop.detection.interface import create_detector
from zsad_desktop.detection.methods.aaclip.checkpoint import IMAGE_FILE, TEXT_FILE
from zsad_desktop.detection.methods.aaclip.trainer import IMAGE_STAGE, TEXT_STAGE
from zsad_desktop.detection.saved_model import load_saved_model, read_manifest
from zsad_desktop.detection.training import TrainingCancelled, train_method
from zsad_desktop.imaging import read_rgb8


@pytest.fixture(scope="module")
def trained(split, tmp_path_factory):
    train, held_out = split
    seen = []
    out = tmp_path_factory.mktemp("aaclip") / "model"
    result = train_method(
        "aaclip",
        backbone_spec=SPEC,
        train_samples=train,
        val_samples=held_out,
        out_dir=out,
        config=FAST,
        device="cpu",
        progress=seen.append,
    )
    return result, seen


def stage_losses(result, stage):
    return [e["loss"] for e in result.metrics["epochs"] if e["stage"] == stage]


@pytest.mark.parametrize("stage", [TEXT_STAGE, IMAGE_STAGE])
def test_each_stage_decreases_its_loss(trained, stage):
    result, _ = trained
    losses = stage_losses(result, stage)
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert result.losses == stage_losses(result, TEXT_STAGE) + stage_losses(result, IMAGE_STAGE)


def test_progress_reports_every_step_and_held_out_metrics_once_per_epoch(trained):
    result, seen = trained
    assert [(p.stage, p.epoch, p.step) for p in seen][:3] == [
        (TEXT_STAGE, 1, 1),
        (TEXT_STAGE, 1, 2),
        (TEXT_STAGE, 2, 1),
    ]  # 7 images, batch 4
    ends = [p for p in seen if p.metrics is not None]
    assert [(p.stage, p.epoch) for p in ends] == [(TEXT_STAGE, e) for e in (1, 2, 3)] + [
        (IMAGE_STAGE, e) for e in (1, 2, 3)
    ]
    assert all(p.step == p.steps for p in ends) and seen[-1].eta_s == 0
    last = ends[-1].metrics
    assert {"loss", "val_loss", "val_image_auroc", "val_pixel_auroc"} <= set(last)
    assert (
        0 <= last["val_pixel_auroc"] <= 1
        and result.metrics["held_out"]["val_pixel_auroc"] == last["val_pixel_auroc"]
    )


def test_model_folder_is_in_the_reference_format_with_stored_calibration(trained):
    result, _ = trained
    folder = result.checkpoint_dir
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["model.json", TEXT_FILE, IMAGE_FILE, "image_adapter_3.pth"]
    )
    text = torch.load(folder / TEXT_FILE, weights_only=True)
    image = torch.load(folder / "image_adapter_3.pth", weights_only=True)
    assert text["epoch"] == 3 and image["epoch"] == 3
    assert (
        "text_adapter.3.fc.0.weight" not in text["text_adapter"] and "3.fc.0.weight" in text["text_adapter"]
    )
    assert "det_proj.fc.weight" in image["image_adapter"]
    settings = read_manifest(folder)["settings"]
    calibration = settings["calibration"]
    assert (
        calibration["map_high"] > calibration["map_low"]
        and calibration["detection_high"] >= calibration["detection_low"]
    )
    assert not folder.with_name("model.partial").exists()


def test_trained_folder_predicts_with_stored_normalisation_and_calibrated_scores(trained, split):
    result, _ = trained
    detector = load_saved_model(
        result.model_dir, device="cpu", precision="float32"
    )  # the precision it was calibrated in
    assert (
        detector.normalisation == result.normalisation
        and result.normalisation.high > result.normalisation.low
    )
    assert detector.calibration.to_dict() == read_manifest(result.model_dir)["settings"]["calibration"]
    images = [read_rgb8(s.image_path) for s in split[1]]
    out = detector.predict(images)
    assert all(
        o.heatmap.shape == i.shape[:2] and o.heatmap.dtype == np.float32 and np.isfinite(o.heatmap).all()
        for o, i in zip(out, images)
    )
    # calibrated on these held-out images: the scores span about 0..1
    scores = [o.score for o in out]
    assert -0.01 <= min(scores) < max(scores) <= 1.01


def test_exact_gelu_option_builds_the_backbone_with_exact_gelu(trained, split):
    result, _ = trained
    act = lambda d: type(d.backbone.model.visual.transformer.resblocks[0].mlp.gelu).__name__  # noqa: E731
    quick = load_saved_model(result.model_dir, device="cpu")
    exact = load_saved_model(result.model_dir, device="cpu", gelu="exact")
    assert act(quick) == "QuickGELU" and act(exact) == "GELU"
    assert quick.model_id != exact.model_id
    image = read_rgb8(split[1][1].image_path)
    assert not np.allclose(quick.predict([image])[0].heatmap, exact.predict([image])[0].heatmap)


def test_exact_gelu_training_writes_it_into_the_model(tmp_path, split):
    result = train_method(
        "aaclip",
        backbone_spec=SPEC,
        train_samples=split[0][:2],
        out_dir=tmp_path / "m",
        device="cpu",
        config={**FAST, "text_epochs": 0, "image_epochs": 1, "gelu": "exact"},
    )
    detector = load_saved_model(result.model_dir, device="cpu")
    assert (
        detector.gelu == "exact" and not detector.adapt_text
    )  # no stage 1: CLIP's own text encoder, as the reference
    assert not (result.model_dir / TEXT_FILE).exists()


def test_cancel_keeps_the_previous_model_and_the_next_run_resumes(tmp_path, split):
    train = split[0][:4]
    out = tmp_path / "model"
    out.mkdir()
    (out / "model.json").write_text('{"previous": true}')
    config = {**FAST, "text_epochs": 1, "image_epochs": 2, "image_batch_size": 2}
    cancel = threading.Event()

    def progress(p):
        if p.stage == IMAGE_STAGE and p.epoch == 2:
            cancel.set()  # the next step stops: stage 1 and the first stage-2 epoch are saved

    with pytest.raises(TrainingCancelled):
        train_method(
            "aaclip",
            backbone_spec=SPEC,
            train_samples=train,
            out_dir=out,
            config=config,
            device="cpu",
            progress=progress,
            cancel=cancel,
        )
    assert sorted(p.name for p in out.iterdir()) == ["model.json"] and json.loads(
        (out / "model.json").read_text()
    ) == {"previous": True}
    partial = tmp_path / "model.partial"
    assert torch.load(partial / IMAGE_FILE, weights_only=True)["epoch"] == 1
    assert "image_optimizer" in torch.load(partial / IMAGE_FILE, weights_only=True)

    resumed = []
    result = train_method(
        "aaclip",
        backbone_spec=SPEC,
        train_samples=train,
        out_dir=out,
        config=config,
        device="cpu",
        progress=resumed.append,
    )
    assert {(p.stage, p.epoch) for p in resumed} == {(IMAGE_STAGE, 2)}  # neither stage 1 nor epoch 1 again
    assert [e["epoch"] for e in result.metrics["epochs"]] == [1, 1, 2] and len(result.losses) == 3
    assert read_manifest(out)["method"] == "aaclip" and not partial.exists()


def test_a_different_run_does_not_resume_an_interrupted_one(tmp_path, split):
    out = tmp_path / "model"
    config = {**FAST, "text_epochs": 1, "image_epochs": 1}
    cancel = threading.Event()
    with pytest.raises(TrainingCancelled):
        train_method(
            "aaclip",
            backbone_spec=SPEC,
            train_samples=split[0][:2],
            out_dir=out,
            config=config,
            device="cpu",
            progress=lambda p: cancel.set() if p.stage == IMAGE_STAGE else None,
            cancel=cancel,
        )
    assert (tmp_path / "model.partial" / TEXT_FILE).is_file()
    seen = []
    train_method(
        "aaclip",
        backbone_spec=SPEC,
        train_samples=split[0][2:4],
        out_dir=out,
        config=config,
        device="cpu",
        progress=seen.append,
    )
    assert TEXT_STAGE in {p.stage for p in seen}  # other images: stage 1 ran again


def test_unknown_training_setting_is_refused(tmp_path, split):
    from zsad_desktop.detection.interface import DetectorError

    with pytest.raises(DetectorError, match="text_epoch"):
        train_method(
            "aaclip",
            backbone_spec=SPEC,
            train_samples=split[0],
            out_dir=tmp_path / "m",
            config={"text_epoch": 2},
            device="cpu",
        )


def test_without_adapters_the_user_is_told_how_to_train_them():
    from zsad_desktop.detection.interface import DetectorError

    with pytest.raises(DetectorError, match="zsad train --method aaclip"):
        create_detector(
            "aaclip", model_name=SPEC.model_name, pretrained="random", image_size=112, device="cpu"
        )
