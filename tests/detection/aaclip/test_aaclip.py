import threading

import numpy as np
import pytest
import torch

from zsad_desktop.detection.backbone import BackboneSpec, shared_backbone
from zsad_desktop.detection.interface import DetectorError, create_detector
from zsad_desktop.detection.methods.aaclip.checkpoint import load_adapters, save_adapters
from zsad_desktop.detection.methods.aaclip.model import AACLIPAdapters
from zsad_desktop.detection.saved_model import load_saved_model
from zsad_desktop.detection.training import TrainingCancelled, samples_from_dataset, train_method
from zsad_desktop.imaging import read_rgb8

from tests.conftest import TINY

SPEC = BackboneSpec(TINY, "random", image_size=112)
FAST = {"text_epochs": 3, "image_epochs": 3, "text_lr": 1e-3, "image_batch_size": 4}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.conftest import DATA

    samples = samples_from_dataset(DATA / "mvtec_ad" / "hazelnut")
    out = tmp_path_factory.mktemp("aaclip") / "model"
    return train_method("aaclip", backbone_spec=SPEC, train_samples=samples, out_dir=out, config=FAST, device="cpu"), samples


def test_both_stages_decrease_their_loss(trained):
    result, _ = trained
    text, image = result.losses[:3], result.losses[3:]
    assert text[-1] < text[0] and image[-1] < image[0]


def test_trained_model_folder_predicts_with_stored_normalisation(trained):
    result, samples = trained
    detector = load_saved_model(result.model_dir, device="cpu")
    assert detector.normalisation == result.normalisation and detector.normalisation.high > detector.normalisation.low
    images = [read_rgb8(s.image_path) for s in samples[:2]]
    out = detector.predict(images)
    assert all(o.heatmap.shape == i.shape[:2] and np.isfinite(o.heatmap).all() for o, i in zip(out, images))
    assert all(0.0 <= o.score <= 1.0 for o in out)


def test_checkpoint_round_trip_is_exact(tmp_path):
    backbone = shared_backbone(SPEC, "cpu")
    torch.manual_seed(1)
    adapters = AACLIPAdapters(backbone)
    save_adapters(adapters, tmp_path)
    other = AACLIPAdapters(backbone)
    load_adapters(other, tmp_path)
    for key, value in adapters.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key


def test_reference_format_checkpoint_loads_with_no_missing_or_unexpected_keys(tmp_path):
    """Files as the authors' code writes them: its key names, plus optimiser state beside."""
    backbone = shared_backbone(SPEC, "cpu")
    v, t, e = 64, 64, 64
    generator = torch.Generator().manual_seed(2)
    image_state = {f"layer_adapters.{i}.fc.0.weight": torch.randn(v, v, generator=generator) for i in range(4)}
    image_state.update({f"seg_proj.{i}.fc.weight": torch.randn(e, v, generator=generator) for i in range(4)})
    image_state["det_proj.fc.weight"] = torch.randn(e, v, generator=generator)
    text_state = {f"{i}.fc.0.weight": torch.randn(t, t, generator=generator) for i in range(3)}
    text_state["3.fc.0.weight"] = torch.randn(e, t, generator=generator)
    torch.save({"image_adapter": image_state, "image_optimizer": {}, "epoch": 20}, tmp_path / "image_adapter.pth")
    torch.save({"text_adapter": text_state, "text_optimizer": {}, "epoch": 5}, tmp_path / "text_adapter.pth")
    detector = create_detector("aaclip", model_name=TINY, pretrained="random", image_size=112, device="cpu", checkpoint=str(tmp_path))
    assert torch.equal(detector.adapters.image_adapter["det_proj"].fc.weight, image_state["det_proj.fc.weight"])
    assert torch.equal(detector.adapters.text_adapter[3].fc[0].weight, text_state["3.fc.0.weight"])
    del text_state["3.fc.0.weight"]
    torch.save({"text_adapter": text_state}, tmp_path / "text_adapter.pth")
    with pytest.raises(DetectorError, match="3.fc.0.weight"):
        create_detector("aaclip", model_name=TINY, pretrained="random", image_size=112, device="cpu", checkpoint=str(tmp_path))


def test_exact_gelu_option_builds_the_backbone_without_quick_gelu(trained):
    result, _ = trained
    quick = load_saved_model(result.model_dir, device="cpu")
    exact = load_saved_model(result.model_dir, device="cpu", gelu="exact")
    act = lambda d: type(d.backbone.model.visual.transformer.resblocks[0].mlp.gelu).__name__  # noqa: E731
    assert act(quick) == "QuickGELU" and act(exact) == "GELU"


def test_without_adapters_the_user_is_told_how_to_train_them():
    with pytest.raises(DetectorError, match="zsad train --method aaclip"):
        create_detector("aaclip", model_name=TINY, pretrained="random", image_size=112, device="cpu")


def test_cancel_keeps_the_previous_model_and_a_new_run_resumes(tmp_path, shared_data):
    samples = samples_from_dataset(shared_data / "mvtec_ad" / "hazelnut")
    out = tmp_path / "model"
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p)
        if p.stage == "patch alignment":
            cancel.set()  # stop during stage 2: stage 1 is saved

    with pytest.raises(TrainingCancelled):
        train_method("aaclip", backbone_spec=SPEC, train_samples=samples, out_dir=out, config=FAST, device="cpu",
                     progress=progress, cancel=cancel)
    assert not out.exists() and (tmp_path / "model.partial" / "text_adapter.pth").is_file()
    resumed = []
    result = train_method("aaclip", backbone_spec=SPEC, train_samples=samples, out_dir=out, config=FAST, device="cpu",
                          progress=resumed.append)
    assert result.model_dir == out and (out / "image_adapter.pth").is_file()
    assert {p.stage for p in resumed} == {"patch alignment"}  # stage 1 was not repeated
