"""The SAM click model on a tiny random-weight SAM (no download): it loads through the real loading
code from a checkpoint in the released format, a click gives a bool mask of the crop's size, the
current mask reaches the decoder as its mask prompt, the image embedding is computed once per image,
and missing or misshapen weights say so in one line while the built-in click model keeps working."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("segment_anything")

from tests.tiny_sam import TINY_SAM as TINY  # noqa: E402
from tests.tiny_sam import save_tiny_sam  # noqa: E402
from zsad_desktop.app.viewer import click_models  # noqa: E402
from zsad_desktop.app.viewer.click_correction import Click  # noqa: E402
from zsad_desktop.app.viewer.click_models import SamClickModel, choose_click_model  # noqa: E402
from zsad_desktop.app.viewer.viewer_model import ViewerModel  # noqa: E402
from zsad_desktop.detection import sam_click_model  # noqa: E402
from zsad_desktop.detection.sam_click_model import (  # noqa: E402
    MASK_LOGIT,
    SamShape,
    SamUnavailable,
    check_checkpoint,
    load_sam,
    mask_prompt,
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny SAM's plain state dict, saved as Meta's released files are."""
    return save_tiny_sam(tmp_path_factory.mktemp("sam") / "sam_vit_b_tiny.pth")


def _image(h=90, w=120, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _box_mask(h=90, w=120):
    mask = np.zeros((h, w), bool)
    mask[20:50, 30:70] = True
    return mask


def test_a_click_gives_a_bool_mask_of_the_crops_size(checkpoint):
    model = SamClickModel(checkpoint, "cpu", TINY)
    for image in (_image(), _image()[..., 0]):  # colour and grey
        out = model.correct(image, None, _box_mask(), [Click(40, 30, True), Click(10, 80, False)])
        assert out.dtype == bool and out.shape == (90, 120)
        assert out[30, 40] and not out[80, 10]  # the clicks hold


def test_the_current_mask_is_the_decoders_mask_prompt(checkpoint):
    sam = load_sam(checkpoint, TINY)
    seen = []
    sam.sam.prompt_encoder.register_forward_pre_hook(
        lambda _module, args, kwargs: seen.append(kwargs["masks"]), with_kwargs=True
    )
    image, mask, points, labels = _image(), _box_mask(), np.array([[40, 30]]), np.array([True])
    with_mask = sam.segment(image, mask, points, labels)
    prompt = seen[-1]
    assert prompt is not None and tuple(prompt.shape) == (1, 1, 32, 32)
    assert np.allclose(prompt.numpy(), mask_prompt(mask, 128, 32))
    # the box fills rows 20..50 of 90 and columns 30..70 of 120: in SAM's geometry (longest side 128,
    # a quarter of it a side) that is rows 5..13 and columns 8..18 of the 32 x 32 prompt
    assert float(prompt[0, 0, 8, 12]) == pytest.approx(MASK_LOGIT)
    assert float(prompt[0, 0, 2, 2]) == pytest.approx(-MASK_LOGIT)
    assert np.allclose(prompt[0, 0, 24:].numpy(), -MASK_LOGIT)  # the padding below the 90-row image
    # another mask, the same clicks: another answer; and the answer is not SAM's answer without a mask
    other = sam.segment(image, ~mask, points, labels)
    empty = sam.segment(image, np.zeros_like(mask), points, labels)
    assert seen[-1] is None  # an empty mask is SAM's "no mask", as on a first click
    assert (with_mask != other).mean() > 0.01 and (with_mask != empty).mean() > 0.01


def test_the_embedding_is_computed_once_per_image(checkpoint):
    model = SamClickModel(checkpoint, "cpu", TINY)
    runs = []
    model.loaded().sam.image_encoder.register_forward_hook(lambda *_: runs.append(1))
    image, mask = _image(), _box_mask()
    model.correct(image, None, mask, [Click(40, 30, True)])
    model.correct(image, None, mask, [Click(40, 30, True), Click(100, 10, False)])
    assert len(runs) == 1
    model.correct(_image(seed=1), None, mask, [Click(40, 30, True)])
    assert len(runs) == 2


def test_a_large_image_is_seen_by_grid_tiles_that_nearby_clicks_share(checkpoint):
    model = SamClickModel(checkpoint, "cpu", TINY)
    shape = (20_000, 20_000)
    mask = np.zeros((1, 1), bool)  # not read by SAM's neighbourhood
    first = model.neighbourhood(shape, mask, Click(9_300, 11_250, True))
    assert first[2] - first[0] == first[3] - first[1] == click_models.SAM_TILE
    assert first[0] <= 11_250 - 256 and first[2] >= 11_250 + 256
    assert model.neighbourhood(shape, mask, Click(9_400, 11_300, False)) == first
    assert model.neighbourhood(shape, mask, Click(19_999, 0, True)) == (0, 18_976, 1_024, 20_000)
    assert model.neighbourhood((600, 800), mask, Click(5, 5, True)) == (0, 0, 600, 800)


def test_a_region_no_click_concerns_stays_as_it_was():
    before = np.zeros((60, 60), bool)
    before[5:15, 5:15] = True  # a region far from the click
    before[30:40, 30:40] = True  # the region clicked
    made = np.zeros_like(before)
    made[28:44, 28:44] = True  # SAM grows the clicked region and drops the other...
    made[50:55, 2:8] = True  # ...and adds a blob no click asked for
    out = click_models.keep_to_clicked_regions(before, made, [Click(35, 35, True)])
    assert out[5:15, 5:15].all() and not out[50:55, 2:8].any()
    assert np.array_equal(out[25:50, 25:50], made[25:50, 25:50])


def test_the_viewer_clicks_with_sam_and_undo_restores(checkpoint, monkeypatch):
    monkeypatch.setitem(sam_click_model.VARIANTS, "vit_b", TINY)  # the file is named as a vit_b
    model = ViewerModel()
    messages = []
    model.events.connect("message", messages.append)
    model.show(_image()[..., 0], None, None)
    assert model.clicks.use_click_model("sam", str(checkpoint), "cpu")
    start = model.editor.mask.copy()
    assert model.clicks.click(40, 30, positive=True) and model.clicks.settle(30)
    assert model.editor.mask[30, 40]
    assert len(messages) == 1 and "SAM is reading this image" in messages[0]  # the slow first click
    assert model.clicks.click(100, 10, positive=False) and model.clicks.settle(30)
    assert len(messages) == 1 and not model.editor.mask[10, 100]  # the second one reads the kept embedding
    assert model.undo() and model.undo() and np.array_equal(model.editor.mask, start)


def test_without_weights_choosing_sam_says_which_file_and_the_tool_keeps_working(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path))
    with pytest.raises(SamUnavailable) as error:
        choose_click_model("sam")
    text = str(error.value)
    assert "\n" not in text and "sam_vit_b_01ec64.pth" in text and str(tmp_path / "sam") in text
    model = ViewerModel()
    messages = []
    model.events.connect("message", messages.append)
    model.show(_image()[..., 0], None, None)
    assert not model.clicks.use_click_model("sam")
    assert messages == [text] and model.clicks.click_model.name == "edges"
    assert model.clicks.click(40, 30, positive=True) and model.clicks.settle(10)
    assert model.editor.mask[30, 40]


def test_released_weights_in_models_sam_are_found(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSAD_MODELS_DIR", str(tmp_path))
    save_tiny_sam(tmp_path / "sam" / "sam_vit_l_0b3195.pth")
    chosen = choose_click_model("sam", device="cpu", shape=TINY)
    assert isinstance(chosen, SamClickModel) and chosen.checkpoint.name == "sam_vit_l_0b3195.pth"
    assert "sam_vit_l_0b3195.pth" in click_models.sam_label()


def test_weights_that_do_not_fit_their_name_are_refused_when_chosen(checkpoint, tmp_path):
    named_b = save_tiny_sam(tmp_path / "sam_vit_b_01ec64.pth")  # a tiny SAM under vit_b's released name
    with pytest.raises(SamUnavailable, match="does not fit SAM vit_b") as error:
        choose_click_model("sam", named_b)
    assert "\n" not in str(error.value) and "built-in click model stays in use" in str(error.value)
    model = ViewerModel()
    messages = []
    model.events.connect("message", messages.append)
    model.show(_image()[..., 0], None, None)
    assert not model.clicks.use_click_model("sam", str(named_b), "cpu")
    assert messages == [str(error.value)] and model.clicks.click_model.name == "edges"


def test_weights_of_another_shape_or_no_checkpoint_say_so_in_one_line(checkpoint, tmp_path):
    deeper = SamShape(**{**TINY.__dict__, "depth": 3, "global_attn_indexes": (2,)})
    with pytest.raises(SamUnavailable, match=r"does not fit SAM given shape: weights .* missing") as error:
        load_sam(checkpoint, deeper)
    assert "\n" not in str(error.value)
    wider = SamShape(**{**TINY.__dict__, "embed_dim": 48})
    with pytest.raises(
        SamUnavailable, match=r"of another shape \(image_encoder\.pos_embed is \(1, 8, 8, 32\)"
    ):
        load_sam(checkpoint, wider)
    garbage = tmp_path / "sam_vit_b_01ec64.pth"
    garbage.write_bytes(b"not a checkpoint")
    for read in (load_sam, check_checkpoint):
        with pytest.raises(SamUnavailable, match="is not a readable checkpoint"):
            read(garbage)
    unnamed = tmp_path / "weights.pth"
    unnamed.write_bytes(checkpoint.read_bytes())
    with pytest.raises(SamUnavailable, match="keep the released file name"):
        load_sam(unnamed)
    # through the click session, a misshapen checkpoint is a message and the mask is unchanged
    model = ViewerModel()
    messages = []
    model.events.connect("message", messages.append)
    model.show(_image()[..., 0], None, None)
    model.clicks.click_model = SamClickModel(checkpoint, "cpu", wider)
    start = model.editor.mask.copy()
    assert model.clicks.click(40, 30) and model.clicks.settle(30)
    assert np.array_equal(model.editor.mask, start)
    assert len(messages) == 1 and "does not fit SAM" in messages[0] and "\n" not in messages[0]
