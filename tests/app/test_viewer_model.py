"""The viewer's layer model: workspace-wide heatmap scale, live threshold, proposed regions, edits."""

import numpy as np
import pytest

from zsad_desktop.app.viewer.viewer_model import DisplaySettings, ViewerModel
from zsad_desktop.detection.interface import NormalisationStats

SCALE = NormalisationStats(low=0.2, high=0.6)


def _image(h=40, w=50):
    return np.full((h, w, 3), 128, np.uint8)


def _heat(h=40, w=50):
    heat = np.full((h, w), 0.25, np.float32)
    heat[5:10, 5:10] = 0.58  # strong spot
    heat[25:35, 30:45] = 0.45  # weaker, larger
    return heat


def _model(events=None, **display):
    model = ViewerModel(DisplaySettings(**display))
    if events is not None:
        for name in ("image", "heatmap", "proposal", "regions", "display", "mask"):
            model.events.connect(name, lambda *args, n=name: events.append((n, *args)))
    return model


def test_layers_in_drawing_order():
    model = _model()
    model.show(_image(), _heat(), SCALE)
    assert [layer.name for layer in model.layers] == ["image", "heatmap", "proposal", "reviewer mask"]


def test_heatmap_uses_the_workspace_scale_not_the_image_range():
    model = _model()
    calm = np.full((40, 50), 0.25, np.float32)
    calm[0, 0] = 0.3  # an image's own min-max would stretch this tiny bump to full red
    model.show(_image(), calm, SCALE)
    assert model.heatmap.display.max() == pytest.approx((0.3 - 0.2) / 0.4)
    assert model.heatmap.display[1, 1] == pytest.approx(0.125)
    assert model.colour_bar_range() == (0.2, 0.6)
    assert model.heatmap.raw_value(0.5) == pytest.approx(0.4)
    assert model.proposal.data.sum() == 0  # nothing above 0.5 on the shared scale


def test_threshold_proposes_regions_and_the_mask_follows_until_edited():
    events = []
    model = _model(events, threshold=0.5)
    model.show(_image(), _heat(), SCALE)
    # display scale: spot (0.58-0.2)/0.4 = 0.95, larger region 0.625
    assert [r.area for r in model.regions] == [25, 150]
    assert model.follows_proposal
    np.testing.assert_array_equal(model.editor.mask, model.proposal.data)
    assert not model.has_unsaved_edit  # a proposal is not an edit
    events.clear()
    model.set_display(threshold=0.8)
    assert [r.area for r in model.regions] == [25]
    assert model.editor.mask.sum() == 25 and not model.editor.can_undo
    assert [e[0] for e in events] == ["proposal", "regions", "mask", "display"]
    model.paint([(40, 5)], 2)
    assert not model.follows_proposal and model.has_unsaved_edit
    model.set_display(threshold=0.5)
    assert len(model.regions) == 2
    assert model.editor.mask.sum() == 25 + 13  # the reviewer's mask stays: the spot and their dab
    model.undo()
    assert model.follows_proposal  # back to where it started: it follows again
    model.set_display(threshold=0.6)
    np.testing.assert_array_equal(model.editor.mask, model.proposal.data)


def test_regions_in_the_mask_are_looked_at_again_once_the_mask_no_longer_is_the_proposal():
    """An unedited mask is the proposal (every region in it, without looking); after an edit, a new
    threshold and an undo it is an older proposal again, and the regions are looked at."""
    model = _model(threshold=0.8)
    model.show(_image(), _heat(), SCALE)
    assert model.regions_in_mask() == [True]
    model.paint([(40, 5)], 2)
    model.set_display(threshold=0.5)  # two regions now; the edited mask holds the spot only
    model.undo()
    assert model.follows_proposal and model.editor.mask.sum() == 25
    assert model.regions_in_mask() == [True, False]


def test_each_proposed_region_is_kept_or_removed_on_its_own():
    model = _model(threshold=0.5)
    model.show(_image(), _heat(), SCALE)
    assert model.region_in_mask(0) and model.region_in_mask(1)
    assert model.keep_region(1, False)
    assert model.region_in_mask(0) and not model.region_in_mask(1)
    assert model.editor.mask.sum() == 25
    assert not model.mask_equals_proposal()
    assert model.keep_region(1, True) and model.mask_equals_proposal()
    assert model.region_at(7, 7) == 0 and model.region_at(35, 30) == 1 and model.region_at(0, 0) is None
    assert model.undo() and not model.region_in_mask(1)


def test_a_saved_mask_is_not_replaced_by_the_proposal():
    saved = np.zeros((40, 50), bool)
    saved[0:3, 0:3] = True
    model = _model(threshold=0.1)
    model.show(_image(), _heat(), SCALE, saved_mask=saved)
    assert not model.follows_proposal
    np.testing.assert_array_equal(model.editor.mask, saved)
    model.set_display(threshold=0.9)
    np.testing.assert_array_equal(model.editor.mask, saved)
    assert model.use_proposal() and model.mask_equals_proposal() and model.undo()
    np.testing.assert_array_equal(model.editor.mask, saved)


def test_a_late_prediction_fills_in_the_proposal_unless_the_reviewer_already_painted():
    model = _model(threshold=0.5)
    model.show(_image(), None)
    assert model.proposal.data is None and model.regions == [] and not model.editor.mask.any()
    model.set_heatmap(_heat(), SCALE)
    assert model.editor.mask.sum() == 175 and not model.has_unsaved_edit

    model.show(_image(), None)
    model.paint([(1, 1)], 1)
    model.set_heatmap(_heat(), SCALE)
    assert model.editor.mask.sum() < 10 and model.has_unsaved_edit  # their dab, not the proposal


def test_edit_events_carry_the_changed_box():
    events = []
    model = _model(events)
    model.show(_image(), None)
    events.clear()
    model.paint([(20, 10)], 2)
    model.add_polygon([(30, 30), (40, 30), (40, 38)])
    assert events[0] == ("mask", (8, 18, 5, 5))
    assert events[1][0] == "mask" and events[1][1][:2] == (30, 30)
    assert not model.fill_holes()  # nothing to fill: no event
    assert len(events) == 2
    model.remove_mask_region_at(20, 10)
    model.clear()
    assert not model.editor.mask.any() and model.redo() is False


def test_display_settings_are_checked():
    model = _model()
    model.set_display(colour_map="viridis", heatmap_opacity=0.7, show_heatmap=False)
    assert model.display.colour_map == "viridis" and not model.display.show_heatmap
    with pytest.raises(ValueError, match="colour map"):
        model.set_display(colour_map="rainbow-ish")
    with pytest.raises(ValueError, match="unknown display settings: zoom"):
        model.set_display(zoom=2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        DisplaySettings(threshold=1.5)


def test_a_heatmap_of_another_size_is_refused():
    model = _model()
    with pytest.raises(ValueError, match="does not fit"):
        model.show(_image(), np.zeros((10, 10), np.float32))


def test_showing_nothing_leaves_nothing_to_edit():
    events = []
    model = _model(events)
    model.show(_image(), _heat(), SCALE)
    events.clear()
    model.show_nothing()
    assert model.image.pixels8 is None and model.heatmap.display is None and model.editor is None
    assert not model.paint([(1, 1)], 3) and not model.undo() and not model.has_unsaved_edit
    assert ("mask", None) in events and ("image",) in events


def test_an_8bit_image_shown_without_its_levels_is_windowed_as_stored():
    events = []
    model = _model(events)
    model.events.connect("window", lambda: events.append(("window",)))
    dark = np.random.default_rng(3).integers(10, 60, (40, 50, 3)).astype(np.uint8)
    model.show(dark)
    editor = model.editor
    assert model.window.current.as_tuple() == (127.5, 255.0) and model.image.levels.preset == "As stored"
    assert model.window.auto()
    assert (
        model.image.pixels8.min() < 10 and model.image.pixels8.max() > 245
    )  # the dark range stretched over 0..255
    assert model.editor is editor  # re-windowing is no new image: the reviewer's edits stay
    model.show_nothing()
    assert model.window.current is None and not model.window.auto() and not model.window.begin_drag()
    assert ("window",) in events


def test_a_reduced_heatmap_of_a_large_image_proposes_at_the_image_size():
    """The viewer holds a very large image's map reduced; the proposal and its regions are the image's size."""
    model = _model(threshold=0.5)
    reduced = _heat()  # 40 x 50 over an image five times larger
    model.show(_image(200, 250), reduced, SCALE)
    assert model.heatmap.display.shape == (40, 50)
    proposal = model.proposal.data
    assert proposal.shape == (200, 250) and model.editor.mask.shape == (200, 250)
    assert (
        proposal[25:50, 25:50].all() and proposal.sum() == 25 * 25 + 50 * 75
    )  # both spots, grown five times
    strong, weak = model.regions
    assert strong.box == (25, 25, 25, 25) and strong.area == 25 * 25 and strong.peak == pytest.approx(0.95)
    assert weak.box == (150, 125, 75, 50) and weak.area == 50 * 75
    assert (strong.pixels | weak.pixels).sum() == proposal.sum()
    with pytest.raises(ValueError, match="does not fit"):
        model.show(_image(200, 250), np.zeros((40, 60), np.float32))  # another shape than the image's


def test_a_proposal_made_ahead_is_used_when_it_fits_the_threshold_and_made_again_when_not():
    from zsad_desktop.app.viewer.proposal import proposal_ahead

    reduced = _heat()
    ahead = proposal_ahead(SCALE.normalise(reduced), (200, 250), 0.5, 0)
    model = _model(threshold=0.5)
    model.show(_image(200, 250), reduced, SCALE, ahead=ahead)
    assert model.heatmap.display is ahead.display and model.proposal.data is ahead.mask
    assert (
        model.editor.mask is ahead.editable and model.editor.mask is not model.proposal.data
    )  # its own copy
    model.paint([(100, 10)], 3)
    assert not model.proposal.data[10, 100]  # editing the reviewer's mask leaves the proposal alone

    stale = proposal_ahead(
        SCALE.normalise(reduced), (200, 250), 0.9, 0
    )  # the reviewer moved the threshold meanwhile
    model = _model(threshold=0.5)
    model.show(_image(200, 250), reduced, SCALE, ahead=stale)
    assert model.proposal.data is not stale.mask
    np.testing.assert_array_equal(model.proposal.data, ahead.mask)
