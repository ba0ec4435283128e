"""The reviewer's mask edits: brush, eraser, polygon, fill, regions, and undo/redo stored as small deltas."""

import numpy as np
import pytest

from zsad_desktop.app.viewer.mask_editing import MaskEditor, mask_regions, threshold_mask


def test_brush_paints_a_disc_and_eraser_takes_it_back():
    editor = MaskEditor((100, 120))
    assert editor.brush([(50, 40)], radius=5)
    assert editor.mask[40, 50] and editor.mask[40, 55] and not editor.mask[40, 57]
    assert 70 < editor.mask.sum() < 100  # about pi * 5^2
    assert editor.edited
    assert editor.brush([(50, 40)], radius=6, paint=False)
    assert not editor.mask.any()


def test_a_stroke_connects_its_points():
    editor = MaskEditor((60, 100))
    editor.brush([(10, 30), (90, 30)], radius=2)
    assert editor.mask[30, 10:91].all()
    assert not editor.mask[30 + 4].any()


def test_undo_and_redo_restore_each_state_exactly():
    editor = MaskEditor((80, 80))
    states = [editor.mask.copy()]
    editor.brush([(20, 20), (60, 25)], 4)
    states.append(editor.mask.copy())
    editor.polygon([(10, 50), (70, 50), (40, 75)])
    states.append(editor.mask.copy())
    editor.brush([(40, 60)], 8, paint=False)
    states.append(editor.mask.copy())
    for expected in reversed(states[:-1]):
        assert editor.undo()
        np.testing.assert_array_equal(editor.mask, expected)
    assert not editor.undo() and not editor.can_undo
    for expected in states[1:]:
        assert editor.redo()
        np.testing.assert_array_equal(editor.mask, expected)
    assert not editor.redo()


def test_a_new_edit_drops_the_redo_stack():
    editor = MaskEditor((40, 40))
    editor.brush([(10, 10)], 3)
    editor.undo()
    editor.brush([(30, 30)], 3)
    assert not editor.can_redo and not editor.mask[10, 10]


def test_history_stores_the_changed_rectangle_not_the_image():
    editor = MaskEditor((4000, 4000))
    editor.brush([(2000, 2000)], 5)
    assert editor.history_bytes() <= 2 * 11 * 11
    assert editor.changed_box == (1995, 1995, 11, 11)
    editor.undo()
    assert editor.changed_box == (1995, 1995, 11, 11)


def test_history_is_bounded_in_bytes_and_edits():
    editor = MaskEditor((100, 100), history_edits=5, history_bytes=10_000)
    for i in range(8):
        editor.brush([(10 * i + 5, 50)], 3)
    assert len(editor._undo) == 5
    editor.replace(np.ones((100, 100), bool))  # 20 kB on its own: older edits make room
    assert editor.history_bytes() == 20_000 and editor.can_undo


def test_edits_without_effect_leave_no_history():
    editor = MaskEditor((50, 50))
    assert not editor.brush([(25, 25)], 4, paint=False)
    assert not editor.clear() and not editor.fill_holes()
    assert not editor.brush([(-40, -40)], 3)  # entirely outside the image
    assert not editor.polygon([(1, 1), (5, 5)])  # not a polygon
    assert not editor.can_undo and not editor.edited


def test_strokes_near_the_border_are_clipped():
    editor = MaskEditor((30, 30))
    assert editor.brush([(0, 0), (29, 29)], 6)
    assert editor.mask[0, 0] and editor.mask[29, 29]


def test_polygon_fill_holes_and_clear():
    editor = MaskEditor((60, 60))
    editor.polygon([(10, 10), (50, 10), (50, 50), (10, 50)])
    assert editor.mask[30, 30] and editor.mask[10:51, 10:51].all() and editor.mask.sum() == 41 * 41
    editor.brush([(30, 30)], 5, paint=False)
    assert not editor.mask[30, 30]
    assert editor.fill_holes()
    assert editor.mask[30, 30]
    assert editor.clear() and not editor.mask.any()
    editor.undo()
    assert editor.mask.sum() == 41 * 41


def test_regions_are_added_and_removed_one_at_a_time():
    editor = MaskEditor((40, 40))
    a = np.zeros((40, 40), bool)
    a[2:8, 2:8] = True
    b = np.zeros((40, 40), bool)
    b[20:30, 20:30] = True
    assert editor.include(a) and editor.include(b)
    assert editor.remove_region_at(25, 25)
    np.testing.assert_array_equal(editor.mask, a)
    assert not editor.remove_region_at(25, 25)  # nothing there any more
    assert editor.exclude(a) and not editor.mask.any()
    assert editor.history_bytes() == 2 * (36 + 100 + 100 + 36)


def test_reset_starts_from_a_mask_without_history():
    editor = MaskEditor((10, 10))
    editor.brush([(5, 5)], 2)
    start = np.eye(10, dtype=bool)
    editor.reset(start)
    np.testing.assert_array_equal(editor.mask, start)
    assert not editor.can_undo and not editor.edited
    with pytest.raises(ValueError, match="does not fit"):
        editor.reset(np.zeros((5, 5), bool))


def test_threshold_and_regions_ranked_by_peak():
    heat = np.zeros((50, 50), np.float32)
    heat[5:15, 5:15] = 0.6  # large, weaker
    heat[30:33, 30:33] = 0.95  # small, strongest
    heat[40, 5] = 0.7  # a single pixel
    mask = threshold_mask(heat, 0.5)
    assert mask.sum() == 100 + 9 + 1
    assert threshold_mask(heat, 0.5, min_area=2).sum() == 109
    regions = mask_regions(mask, heat)
    assert [r.area for r in regions] == [9, 1, 100]
    assert regions[0].peak == pytest.approx(0.95) and regions[0].box == (30, 30, 3, 3)
    assert regions[2].pixels.sum() == 100 and regions[2].centre == (10.0, 10.0)


@pytest.mark.parametrize("share", [0.0, 0.01, 0.3, 1.0])
def test_a_sparse_copy_equals_the_mask_and_is_its_own(share):
    from zsad_desktop.app.viewer.mask_editing import sparse_copy

    mask = np.random.default_rng(1).random((120, 90)) < share
    mask[40:43] = share > 0  # a run of full rows beside scattered ones
    original = mask.copy()
    copied = sparse_copy(mask)
    np.testing.assert_array_equal(copied, mask)
    copied[:] = ~copied  # editing the copy leaves the mask alone
    np.testing.assert_array_equal(mask, original)


def test_regions_labelled_on_the_bounding_box_match_labelling_the_whole_mask():
    import cv2

    from zsad_desktop.app.viewer.mask_editing import label_regions

    mask = np.zeros((300, 400), bool)
    mask[100:120, 250:260] = True
    mask[200:230, 150:155] = True
    mask[210, 300] = True
    count, labels, stats, (top, left) = label_regions(mask)
    whole = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    assert (top, left) == (100, 150) and count == whole[0] == 4
    assert sorted(map(tuple, stats[1:].tolist())) == sorted(map(tuple, whole[2][1:].tolist()))
    assert label_regions(np.zeros((5, 5), bool))[0] == 1 and mask_regions(np.zeros((5, 5), bool)) == []
