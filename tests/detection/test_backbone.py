import open_clip
import pytest
import torch

from tests.conftest import TINY
from zsad_desktop.detection.backbone import (
    BackboneSpec,
    WeightsMissingError,
    load_backbone,
    resolve_weights,
)
from zsad_desktop.detection.interface import DetectorError


def test_missing_openai_weights_give_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsMissingError) as info:
        resolve_weights(BackboneSpec("ViT-L-14-336", "openai"))
    message = str(info.value)
    assert "ViT-L-14-336px.pt" in message and "891 MB" in message
    assert str(tmp_path / "ViT-L-14-336px.pt") in message


def test_weights_found_under_models_dir_first(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path))
    (tmp_path / "ViT-L-14-336px.pt").write_bytes(b"x")
    assert resolve_weights(BackboneSpec("ViT-L-14-336", "openai")) == tmp_path / "ViT-L-14-336px.pt"


def test_unknown_tag_or_missing_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path))
    with pytest.raises(WeightsMissingError, match="neither a pretrained tag"):
        resolve_weights(BackboneSpec(TINY, "no-such-file.pt"))
    with pytest.raises(DetectorError, match="unknown backbone"):
        load_backbone(BackboneSpec("No-Such-Model", "random"))


def test_checkpoint_file_written_by_test_loads_exactly(tmp_path):
    torch.manual_seed(7)
    reference = open_clip.create_model(TINY)
    path = tmp_path / "tiny.pt"
    torch.save({"state_dict": reference.state_dict()}, path)
    loaded = load_backbone(BackboneSpec(TINY, str(path), image_size=56))
    for key, value in reference.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
    assert not any(p.requires_grad for p in loaded.model.parameters())


def test_torchscript_checkpoint_like_openai_loads(tmp_path):
    torch.manual_seed(3)
    reference = open_clip.create_model(TINY)
    scripted = torch.jit.script(_StateHolder(reference))
    path = tmp_path / "tiny-jit.pt"
    scripted.save(str(path))
    loaded = load_backbone(BackboneSpec(TINY, str(path), image_size=56))
    assert torch.equal(loaded.model.visual.proj, reference.visual.proj)


class _StateHolder(torch.nn.Module):
    """A TorchScript archive whose state dict has open_clip's keys, as OpenAI's files do."""

    def __init__(self, clip):
        super().__init__()
        for name, child in clip.named_children():
            self.add_module(name, child)
        for name, param in clip.named_parameters(recurse=False):
            self.register_parameter(name, param)
        for name, buf in clip.named_buffers(recurse=False):
            self.register_buffer(name, buf)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
