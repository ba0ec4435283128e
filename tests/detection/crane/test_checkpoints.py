"""The authors' released prompt checkpoints load exactly; ours save in the same format."""

import numpy as np
import pytest
import torch

from tests.detection.crane.conftest import RELEASED
from zsad_desktop.detection.interface import DetectorError
from zsad_desktop.detection.methods.crane.checkpoint import load_prompt_checkpoint, save_prompt_checkpoint
from zsad_desktop.detection.methods.crane.detector import CraneDetector
from zsad_desktop.detection.methods.crane.prompt_learner import CranePromptLearner

RELEASED_KEYS = {
    "ctx_pos",
    "ctx_neg",
    *(f"compound_prompts_text.{i}" for i in range(8)),
    *(
        f"{kind}_{state}"
        for kind in ("token_prefix", "token_suffix", "tokenized_prompts")
        for state in ("pos", "neg")
    ),
}


@pytest.mark.parametrize("path", RELEASED, ids=lambda p: p.parent.name)
def test_released_checkpoint_loads_every_key_and_gives_finite_heatmaps(path, backbone, images, dinov2_file):
    state = torch.load(path, map_location="cpu", weights_only=True)["prompt_learner"]
    assert set(state) == RELEASED_KEYS
    plus = "cranep" in path.parent.name
    detector = CraneDetector(
        backbone=backbone, checkpoint=str(path), dinov2_checkpoint=str(dinov2_file) if plus else None
    )
    assert detector.variant == ("crane+" if plus else "crane")
    loaded = detector.prompts.state_dict()
    assert set(loaded) == set(state)
    for key, value in state.items():  # values as released, dtypes included
        assert loaded[key].dtype == value.dtype and torch.equal(loaded[key], value), key
    for image, detection in zip(images, detector.predict(images)):
        assert detection.heatmap.shape == image.shape[:2] and detection.heatmap.dtype == np.float32
        assert (
            np.isfinite(detection.heatmap).all()
            and 0.0 <= detection.heatmap.min() <= detection.heatmap.max() <= 1.0
        )
        assert 0.0 <= detection.score <= 1.0


def test_fresh_prompts_tokenize_the_released_sentences(backbone, released):
    """'X x12 object.' and 'X x12 damaged object.': token ids equal the authors' buffers."""
    state = torch.load(released[0], map_location="cpu", weights_only=True)["prompt_learner"]
    fresh = CranePromptLearner(backbone).state_dict()
    for key in ("tokenized_prompts_pos", "tokenized_prompts_neg"):
        assert torch.equal(fresh[key], state[key]), key


def test_crane_plus_checkpoint_without_dinov2_is_a_clear_message(backbone, released):
    path = next(p for p in released if "cranep" in p.parent.name)
    with pytest.raises(DetectorError, match="DINOv2.*dinov2_checkpoint.*variant 'crane'"):
        CraneDetector(backbone=backbone, checkpoint=str(path))
    assert CraneDetector(backbone=backbone, checkpoint=str(path), variant="crane").variant == "crane"


def test_missing_default_checkpoint_says_where_to_put_it(tmp_path, monkeypatch, backbone):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path))
    with pytest.raises(
        DetectorError, match=str(tmp_path / "crane" / "trained_on_mvtec_crane" / "epoch_5.pth")
    ):
        CraneDetector(backbone=backbone)


def test_default_checkpoint_is_found_in_the_models_folder(tmp_path, monkeypatch, backbone, released):
    target = tmp_path / "crane" / "trained_on_mvtec_crane" / "epoch_5.pth"
    target.parent.mkdir(parents=True)
    target.write_bytes(next(p for p in released if p.parent.name == "trained_on_mvtec_crane").read_bytes())
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path))
    assert CraneDetector(backbone=backbone).checkpoint == target


def test_extra_missing_or_misshaped_keys_are_refused_by_name(tmp_path, backbone):
    learner = CranePromptLearner(backbone)
    good = {k: v.clone() for k, v in learner.state_dict().items()}
    cases = [
        ({**good, "surprise": torch.zeros(1)}, r"unexpected keys \['surprise'\]"),
        (
            {k: v for k, v in good.items() if k != "compound_prompts_text.7"},
            r"missing keys \['compound_prompts_text.7'\]",
        ),
        ({**good, "ctx_pos": torch.zeros(1, 1, 8, 768)}, r"ctx_pos \(1, 1, 8, 768\) vs \(1, 1, 12, 768\)"),
    ]
    for state, message in cases:
        torch.save({"prompt_learner": state}, tmp_path / "bad.pth")
        with pytest.raises(DetectorError, match=message):
            load_prompt_checkpoint(learner, tmp_path / "bad.pth")
    torch.save(good, tmp_path / "bare.pth")  # a state dict without the {"prompt_learner": ...} wrapper
    with pytest.raises(DetectorError, match="prompt_learner"):
        load_prompt_checkpoint(learner, tmp_path / "bare.pth")
    (tmp_path / "broken.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorError, match="broken.pth"):
        load_prompt_checkpoint(learner, tmp_path / "broken.pth")


def test_a_narrower_text_tower_is_refused_with_the_width(released, tiny_backbone):
    with pytest.raises(DetectorError, match="text width 64"):
        CraneDetector(backbone=tiny_backbone, checkpoint=str(released[0]))


def test_save_then_load_is_exact_and_in_the_released_format(tmp_path, backbone):
    torch.manual_seed(5)
    learner = CranePromptLearner(backbone)
    save_prompt_checkpoint(learner, tmp_path / "epoch_5.pth")
    raw = torch.load(tmp_path / "epoch_5.pth", map_location="cpu", weights_only=True)
    assert list(raw) == ["prompt_learner"] and set(raw["prompt_learner"]) == RELEASED_KEYS
    other = CranePromptLearner(backbone)
    load_prompt_checkpoint(other, tmp_path / "epoch_5.pth")
    for key, value in learner.state_dict().items():
        assert other.state_dict()[key].dtype == value.dtype and torch.equal(other.state_dict()[key], value), (
            key
        )
