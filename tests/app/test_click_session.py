"""The click tool's session: each click one undoable edit, clicks made while one computes all land,
a click on a 20,000 px image reads and writes its neighbourhood only, a 16-bit image is read as
windowed on screen, bad clicks say why and change nothing."""

import threading

import numpy as np
import pytest

from zsad_desktop.app.viewer import click_correction
from zsad_desktop.app.viewer.click_correction import Click
from zsad_desktop.app.viewer.viewer_model import ViewerModel
from zsad_desktop.app.viewer.window_level import WIDE, Window, WindowLevel, render8
from zsad_desktop.detection.interface import NormalisationStats


def _textured(h=160, w=200, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.integers(60, 100, (h, w), dtype=np.uint8)
    image[50:90, 60:110] = rng.integers(180, 220, (40, 50), dtype=np.uint8)  # a bright defect
    return image


def _model(image=None, heat=None):
    model = ViewerModel()
    messages = []
    model.events.connect("message", messages.append)
    image = _textured() if image is None else image
    model.show(image, heat, NormalisationStats(0.0, 1.0) if heat is not None else None)
    return model, messages


def test_undo_and_redo_restore_the_mask_exactly():
    model, _ = _model()
    start = model.editor.mask.copy()
    assert model.clicks.click(80, 70, positive=True) and model.clicks.settle(10)
    after_first = model.editor.mask.copy()
    assert model.clicks.click(20, 20, positive=True) and model.clicks.settle(10)
    assert model.clicks.click(170, 140, positive=True) and model.clicks.settle(10)
    after_all = model.editor.mask.copy()
    assert after_first[70, 80] and not np.array_equal(after_first, start)
    assert model.undo()
    assert model.undo()
    assert np.array_equal(model.editor.mask, after_first)
    assert model.undo()
    assert np.array_equal(model.editor.mask, start)
    assert model.clicks.clicks == []  # undone clicks no longer hold the mask
    for _ in range(3):
        assert model.redo()
    assert np.array_equal(model.editor.mask, after_all)
    assert [c.x for c in model.clicks.clicks] == [80, 20, 170]


def test_clear_clicks_keeps_the_mask():
    model, _ = _model()
    model.clicks.click(80, 70)
    model.clicks.settle(10)
    mask = model.editor.mask.copy()
    model.clicks.clear()
    assert model.clicks.clicks == [] and np.array_equal(model.editor.mask, mask)


def test_a_click_while_the_previous_computes_loses_neither(monkeypatch):
    real = click_correction.correct_with_clicks
    started, release = threading.Event(), threading.Event()
    seen = []

    def slow(image, heatmap, mask, clicks):
        seen.append(list(clicks))
        started.set()
        release.wait(10)  # the first computation is still running when the second click comes
        return real(image, heatmap, mask, clicks)

    monkeypatch.setattr(click_correction, "correct_with_clicks", slow)
    model, _ = _model()
    model.clicks.click(70, 60, positive=True)
    assert started.wait(10)
    model.clicks.click(20, 140, positive=True)  # on the background, away from the first
    assert model.clicks.pending and len(model.clicks.clicks) == 2  # both dots show meanwhile
    release.set()
    assert model.clicks.settle(10)
    assert not model.clicks.pending
    assert model.editor.mask[60, 70] and model.editor.mask[140, 20]
    assert [(c.x, c.y) for c in model.clicks.clicks] == [(70, 60), (20, 140)]
    # the newer computation made the first click again (its older result was dropped), then the second
    assert len(seen) == 3 and seen[1] == seen[0] and seen[2][-1].positive
    assert model.undo() and not model.editor.mask[140, 20]  # still one edit per click
    assert model.editor.mask[60, 70]
    assert model.effort.clicks == 2


def test_a_negative_click_removes_and_a_positive_click_adds():
    model, _ = _model()
    model.clicks.click(80, 70, positive=True)
    model.clicks.settle(10)
    assert model.editor.mask[70, 80]
    model.clicks.click(80, 70, positive=False)
    model.clicks.settle(10)
    assert not model.editor.mask[70, 80]


def test_snap_is_one_edit_and_needs_a_mask():
    model, messages = _model()
    assert not model.clicks.snap() and "empty" in messages[-1]
    model.paint([(80, 70)], 20)
    before = model.editor.mask.copy()
    assert model.clicks.snap() and model.clicks.settle(10)
    assert model.effort.snaps == 1
    if not np.array_equal(model.editor.mask, before):
        assert model.undo() and np.array_equal(model.editor.mask, before)


def test_a_failing_correction_says_why_and_keeps_the_mask(monkeypatch):
    model, messages = _model()
    model.paint([(80, 70)], 10)
    mask = model.editor.mask.copy()

    def broken(image, heatmap, mask, clicks):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(click_correction, "correct_with_clicks", broken)
    assert model.clicks.click(30, 30) and model.clicks.settle(10)
    assert "could not be applied (RuntimeError: out of memory)" in messages[-1]
    assert np.array_equal(model.editor.mask, mask) and model.clicks.clicks == []
    assert model.effort.clicks == 0 and model.effort.brush_strokes == 1


def test_bad_clicks_say_why_and_change_nothing():
    model, messages = _model()
    mask = model.editor.mask.copy()
    assert not model.clicks.click(-1, 5) and "outside the image" in messages[-1]
    assert not model.clicks.click(200, 5) and "outside the image" in messages[-1]
    assert np.array_equal(model.editor.mask, mask) and model.clicks.clicks == [] and model.effort.clicks == 0

    tiny, messages = _model(np.zeros((1, 1), np.uint8))
    assert not tiny.clicks.click(0, 0) and "1 x 1" in messages[-1]
    assert not tiny.editor.mask.any()

    nothing = ViewerModel()
    said = []
    nothing.events.connect("message", said.append)
    assert not nothing.clicks.click(3, 3) and "Open an image first" in said[-1]


def test_a_click_works_without_a_heatmap_and_with_one():
    model, _ = _model()  # no prediction yet
    assert model.heatmap.display is None
    assert model.clicks.click(80, 70) and model.clicks.settle(10) and model.editor.mask[70, 80]
    heat = np.zeros((160, 200), np.float32)
    heat[50:90, 60:110] = 0.9
    hot, _ = _model(heat=heat)
    hot.clicks.click(80, 70)
    assert hot.clicks.settle(10) and hot.editor.mask[70, 80]


def test_another_image_drops_the_clicks():
    model, _ = _model()
    model.clicks.click(80, 70)
    model.clicks.settle(10)
    model.show(_textured(seed=1))
    assert model.clicks.clicks == [] and not model.editor.mask.any()


def test_a_click_on_a_20000_px_image_touches_only_its_neighbourhood(monkeypatch):
    side = 20_000
    pixels8 = np.zeros((side, side), np.uint8)  # untouched pages cost no memory
    pixels8[10_000:10_040, 12_000:12_060] = 200
    heat = np.zeros((2_000, 2_000), np.float32)  # kept reduced for display, as the window keeps it
    heat[1_000:1_002, 1_200:1_203] = 0.8  # proposes the defect's top-left part only
    model, _ = _model(pixels8, heat)
    model.proposals.settle(60)
    reads = []
    real = click_correction.correct_with_clicks

    def spy(image, heatmap, mask, clicks):
        reads.append((image.shape, None if heatmap is None else heatmap.copy(), mask.shape))
        return real(image, heatmap, mask, clicks)

    monkeypatch.setattr(click_correction, "correct_with_clicks", spy)
    before = model.editor.mask[9_000:11_000, 11_000:13_000].copy()
    click = Click(12_045, 10_030, True)  # on the defect, outside the proposal
    top, left, bottom, right = click_correction.click_neighbourhood(
        (side, side), model.editor.mask, click, [click]
    )
    assert model.clicks.click(click.x, click.y) and model.clicks.settle(60)
    (image_shape, heatmap, mask_shape) = reads[-1]
    assert image_shape == mask_shape == (bottom - top, right - left)
    assert (bottom - top) * (right - left) <= side * side / 100  # a neighbourhood, not the wafer
    # the heatmap read at image coordinates: the reduced hot spot covers the defect's pixels
    assert heatmap.shape == mask_shape and heatmap[10_010 - top, 12_020 - left] == pytest.approx(0.8)
    assert heatmap[10_030 - top, 12_045 - left] == 0.0
    t, lft, h, w = model.editor.changed_box
    assert top <= t and left <= lft and t + h <= bottom and lft + w <= right
    assert model.editor.mask[10_030, 12_045]
    after = model.editor.mask[9_000:11_000, 11_000:13_000]
    outside = np.ones(before.shape, bool)
    outside[top - 9_000 : bottom - 9_000, left - 11_000 : right - 11_000] = False
    assert np.array_equal(after[outside], before[outside])


def test_a_click_on_a_16_bit_image_reads_the_windowed_view(monkeypatch):
    rng = np.random.default_rng(3)
    pixels = rng.integers(1000, 1200, (120, 140)).astype(np.uint16)
    pixels[40:80, 50:100] = 30_000
    levels = WindowLevel(pixels, 16, WIDE)
    levels.set(Window(1100.0, 400.0))  # a narrow window: the texture shows, the blob is white
    model = ViewerModel()
    model.show(render8(pixels, levels.window), levels=levels)
    seen = []
    real = click_correction.correct_with_clicks

    def spy(image, heatmap, mask, clicks):
        seen.append(image.copy())
        return real(image, heatmap, mask, clicks)

    monkeypatch.setattr(click_correction, "correct_with_clicks", spy)
    model.clicks.click(70, 60)
    assert model.clicks.settle(10)
    top, left, bottom, right = click_correction.click_neighbourhood(
        (120, 140), np.zeros((120, 140), bool), Click(70, 60, True)
    )
    assert seen[-1].dtype == np.uint8
    np.testing.assert_array_equal(seen[-1], model.image.pixels8[top:bottom, left:right])
    assert model.editor.mask[60, 70]
