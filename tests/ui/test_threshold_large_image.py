"""A threshold change on a large image: its proposal is made off the GUI thread, the newest wins, edits are kept."""

import threading

import numpy as np
import pytest

from zsad_desktop.app.viewer import proposal as proposal_module
from zsad_desktop.app.viewer.proposal import make_proposal
from zsad_desktop.app.viewer.proposal_control import SYNC_PROPOSAL_PIXELS
from zsad_desktop.detection.interface import NormalisationStats

SIDE = 2_100  # just over the size whose proposal is made on the spot
SCALE = NormalisationStats(low=0.0, high=1.0)


def _reduced_heatmap() -> np.ndarray:
    """A 420 px map over the 2,100 px image: a ramp left to right, so each threshold keeps another part."""
    return np.tile(np.linspace(0.0, 1.0, 420, dtype=np.float32), (420, 1))


@pytest.fixture
def grown_on(monkeypatch):
    """The threads the proposal's full-size mask was grown on (new and old code both grow it in `proposal`)."""
    threads: list[int] = []
    real = proposal_module.grown_mask

    def recording(*args, **kwargs):
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(proposal_module, "grown_mask", recording)
    return threads


@pytest.fixture
def window(qtbot, shown_viewer):
    """A viewer and the side panel whose slider sets the threshold, on a 2,100 px image with its map."""
    from zsad_desktop.ui.side_panel import SidePanel

    assert SIDE * SIDE > SYNC_PROPOSAL_PIXELS
    view = shown_viewer((600, 500), threshold=0.9)
    panel = SidePanel(view.model)
    qtbot.addWidget(panel)
    view.model.show(np.full((SIDE, SIDE), 90, np.uint8), _reduced_heatmap(), SCALE)
    qtbot.waitUntil(lambda: not view.model.proposals.pending, timeout=30_000)
    return view, panel


def _expected(model, threshold: float) -> np.ndarray:
    return make_proposal(model.heatmap.display, (SIDE, SIDE), threshold).mask


def test_sliding_the_threshold_makes_the_proposal_off_the_gui_thread_and_the_newest_wins(
    qtbot, window, grown_on
):
    view, panel = window
    model = view.model
    before = model.proposal.data
    for value in (70, 50, 30):  # a drag: three steps without the event loop in between
        panel.masks.threshold.setValue(value)
    assert model.display.threshold == 0.3
    assert model.proposal.data is before  # the slider returned at once; the old proposal stays meanwhile
    assert panel.masks.regions.item(0).text().startswith("Proposing regions")
    qtbot.waitUntil(lambda: not model.proposals.pending, timeout=30_000)
    assert grown_on and threading.get_ident() not in grown_on
    expected = _expected(model, 0.3)
    np.testing.assert_array_equal(model.proposal.data, expected)
    np.testing.assert_array_equal(model.editor.mask, expected)  # the unedited mask follows the proposal
    assert view.proposal_item.has_content
    assert [r.area for r in model.regions] == [int(expected.sum())]
    assert panel.masks.regions.item(0).text().startswith("Region 1:")


def test_an_edit_made_while_the_proposal_is_on_its_way_is_kept(qtbot, window):
    view, panel = window
    model = view.model
    old_mask = model.editor.mask.copy()
    panel.masks.threshold.setValue(40)
    model.paint([(50.0, 50.0)], 10)  # before the proposal can arrive: it needs the event loop
    painted = model.editor.mask.copy()
    assert painted[50, 50] and not old_mask[50, 50]
    qtbot.waitUntil(lambda: not model.proposals.pending, timeout=30_000)
    np.testing.assert_array_equal(model.proposal.data, _expected(model, 0.4))
    np.testing.assert_array_equal(model.editor.mask, painted)  # not replaced by the new proposal
    assert model.undo() and np.array_equal(model.editor.mask, old_mask)


def test_settling_shows_the_threshold_on_screens_proposal_at_once(window):
    """What a decision does first: it must save the proposal of the threshold the reviewer set."""
    view, panel = window
    model = view.model
    panel.masks.threshold.setValue(60)
    assert model.proposals.settle(timeout=30)
    assert not model.proposals.pending
    np.testing.assert_array_equal(model.proposal.data, _expected(model, 0.6))
    assert model.mask_equals_proposal()
