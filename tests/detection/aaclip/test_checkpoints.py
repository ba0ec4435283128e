import pytest
import torch
import torch.nn.functional as F

from tests.detection.aaclip.conftest import SPEC
from tests.tolerances import assert_close_to_scale
from zsad_desktop.detection.backbone import shared_backbone
from zsad_desktop.detection.interface import DetectorError, create_detector
from zsad_desktop.detection.methods.aaclip.checkpoint import (
    finish_folder,
    load_adapters,
    save_image_adapter,
    save_text_adapter,
)
from zsad_desktop.detection.methods.aaclip.model import AACLIPAdapters, AdapterLayout

V = T = E = 64  # the tiny backbone's vision width, text width and joint space
LEVELS = 4  # the tiny backbone's 4 blocks are its 4 levels


def reference_states(generator: torch.Generator, relu: bool = False, image_adapt_until: int = 4):
    """State dicts with the key names the authors' AdaptedCLIP gives them."""
    proj = "fc.0.weight" if relu else "fc.weight"
    image = {
        f"layer_adapters.{i}.fc.0.weight": torch.randn(V, V, generator=generator)
        for i in range(image_adapt_until)
    }
    image.update({f"seg_proj.{i}.{proj}": torch.randn(E, V, generator=generator) for i in range(LEVELS)})
    image[f"det_proj.{proj}"] = torch.randn(E, V, generator=generator)
    text = {f"{i}.fc.0.weight": torch.randn(T, T, generator=generator) for i in range(3)}
    text["3.fc.0.weight"] = torch.randn(E, T, generator=generator)
    return image, text


def save_like_the_reference(folder, image, text, image_file="image_adapter.pth"):
    """As its train.py saves them: epoch, state, optimiser state."""
    torch.save(
        {"epoch": 20, "image_adapter": image, "image_optimizer": {"state": {}, "param_groups": []}},
        folder / image_file,
    )
    torch.save(
        {"epoch": 5, "text_adapter": text, "text_optimizer": {"state": {}, "param_groups": []}},
        folder / "text_adapter.pth",
    )


def make(**settings):
    return create_detector(
        "aaclip", model_name=SPEC.model_name, pretrained="random", image_size=112, device="cpu", **settings
    )


def test_round_trip_is_exact(tmp_path):
    backbone = shared_backbone(SPEC, "cpu")
    torch.manual_seed(1)
    adapters = AACLIPAdapters.for_backbone(backbone, AdapterLayout.for_backbone(backbone))
    save_text_adapter(adapters, tmp_path, 5)
    save_image_adapter(adapters, tmp_path, 20)
    torch.manual_seed(2)
    other = AACLIPAdapters.for_backbone(backbone, AdapterLayout.for_backbone(backbone))
    loaded = load_adapters(other, tmp_path)
    assert (loaded.text_epoch, loaded.image_epoch) == (5, 20)
    assert adapters.state_dict().keys() == other.state_dict().keys()
    for key, value in adapters.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key


def test_saved_keys_are_the_reference_names(tmp_path):
    backbone = shared_backbone(SPEC, "cpu")
    adapters = AACLIPAdapters.for_backbone(backbone, AdapterLayout.for_backbone(backbone))
    finish_folder(adapters, tmp_path, 5, 20)
    image, text = reference_states(torch.Generator())
    saved_image = torch.load(tmp_path / "image_adapter_20.pth", weights_only=True)
    saved_text = torch.load(tmp_path / "text_adapter.pth", weights_only=True)
    assert set(saved_image["image_adapter"]) == set(image) and saved_image["epoch"] == 20
    assert set(saved_text["text_adapter"]) == set(text) and saved_text["epoch"] == 5


def test_reference_checkpoint_loads_with_no_missing_or_unexpected_keys(tmp_path):
    image, text = reference_states(torch.Generator().manual_seed(3))
    save_like_the_reference(tmp_path, image, text)
    detector = make(checkpoint_dir=str(tmp_path))
    got_image = detector.adapters.image_adapter.state_dict()
    got_text = detector.adapters.text_adapter.state_dict()
    assert set(got_image) == set(image) and set(got_text) == set(text)
    assert all(torch.equal(got_image[k], v) for k, v in image.items())
    assert all(torch.equal(got_text[k], v) for k, v in text.items())
    assert detector.adapt_text


def test_a_reference_folder_is_calibrated_on_a_set_of_images(tmp_path, hazelnut):
    from zsad_desktop.imaging import read_rgb8

    image, text = reference_states(torch.Generator().manual_seed(9))
    save_like_the_reference(tmp_path, image, text)
    detector = make(checkpoint_dir=str(tmp_path), object_name="single brown hazelnut")
    images = [read_rgb8(s.image_path) for s in hazelnut[:4]]
    before = detector.model_id
    calibration = detector.calibrate(images)
    scores = [d.score for d in detector.predict(images)]
    assert calibration.map_high > calibration.map_low and detector.model_id != before
    assert min(scores) >= -1e-4 and max(scores) <= 1 + 1e-4 and max(scores) - min(scores) > 0.1
    with pytest.raises(DetectorError, match="at least two images"):
        detector.calibrate(images[:1])


def test_reference_test_folder_with_only_numbered_image_files_loads_the_latest(tmp_path):
    """The reference's test.py reads image_adapter_<epoch>.pth files; such a folder may lack image_adapter.pth."""
    old, text = reference_states(torch.Generator().manual_seed(4))
    new, _ = reference_states(torch.Generator().manual_seed(5))
    save_like_the_reference(tmp_path, old, text, "image_adapter_9.pth")
    torch.save({"epoch": 10, "image_adapter": new}, tmp_path / "image_adapter_10.pth")
    detector = make(checkpoint_dir=str(tmp_path))
    assert torch.equal(detector.adapters.image_adapter["det_proj"].fc.weight, new["det_proj.fc.weight"])


def test_relu_projections_of_the_reference_flag_load_with_the_setting(tmp_path):
    image, text = reference_states(torch.Generator().manual_seed(6), relu=True)
    save_like_the_reference(tmp_path, image, text)
    with pytest.raises(DetectorError, match="seg_proj.0.fc.0.weight"):
        make(checkpoint_dir=str(tmp_path))
    detector = make(checkpoint_dir=str(tmp_path), projection_relu=True)
    assert torch.equal(
        detector.adapters.image_adapter["seg_proj"][2].fc[0].weight, image["seg_proj.2.fc.0.weight"]
    )


def test_missing_or_extra_keys_are_named(tmp_path):
    image, text = reference_states(torch.Generator().manual_seed(7))
    del text["3.fc.0.weight"]
    image["layer_adapters.9.fc.0.weight"] = torch.zeros(V, V)
    save_like_the_reference(tmp_path, image, text)
    with pytest.raises(DetectorError, match=r"missing \['3.fc.0.weight'\]"):
        make(checkpoint_dir=str(tmp_path))
    (tmp_path / "text_adapter.pth").unlink()
    with pytest.raises(DetectorError, match=r"unexpected \['layer_adapters.9.fc.0.weight'\]"):
        make(checkpoint_dir=str(tmp_path))


@pytest.mark.reference
def test_folder_without_text_adapter_uses_clips_text_encoder(tmp_path):
    image, _ = reference_states(torch.Generator().manual_seed(8))
    torch.save({"epoch": 1, "image_adapter": image}, tmp_path / "image_adapter.pth")
    detector = make(checkpoint_dir=str(tmp_path))
    clip, tokenizer = detector.backbone.model, detector.backbone.tokenizer
    normal = [
        "object.",
        "a photo of object.",
        "a object.",
        "a photo of a object.",
        "the object.",
        "a photo of the object.",
    ]
    with torch.no_grad():
        expected = F.normalize(F.normalize(clip.encode_text(tokenizer(normal)), dim=-1).mean(0), dim=-1)
    assert not detector.adapt_text
    # unit vectors through the same kernels (equal with ATEN_CPU_CAPABILITY=avx2 and =default)
    assert_close_to_scale(detector.anchors()[0], expected, 1e-6, "normal anchor")


def test_not_a_checkpoint_folder_says_so(tmp_path):
    with pytest.raises(DetectorError, match="does not exist"):
        make(checkpoint_dir=str(tmp_path / "nowhere"))
    with pytest.raises(DetectorError, match="holds no AA-CLIP image adapter"):
        make(checkpoint_dir=str(tmp_path))
    (tmp_path / "image_adapter.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorError, match="not a readable AA-CLIP checkpoint"):
        make(checkpoint_dir=str(tmp_path))
    torch.save({"model": {}}, tmp_path / "image_adapter.pth")
    with pytest.raises(DetectorError, match="no 'image_adapter' entry"):
        make(checkpoint_dir=str(tmp_path))


def test_settings_are_checked():
    with pytest.raises(DetectorError, match="gelu"):
        make(checkpoint_dir="x", gelu="tanh")
    with pytest.raises(DetectorError, match="domain"):
        make(checkpoint_dir="x", domain="dental")
