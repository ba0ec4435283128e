"""Click correction on generated images whose true masks are known: a disk on texture, a thin
crack, a 16-bit CT blob seen through a window; the clicks' hard constraints; a click on a very
large array; snap to edges; bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from zsad_desktop.app.viewer.click_correction import (
    NEIGHBOURHOOD_SIDE,
    Click,
    click_neighbourhood,
    correct_with_clicks,
    snap_to_edges,
)
from zsad_desktop.app.viewer.window_level import Window, render8


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.count_nonzero(a & b) / max(1, np.count_nonzero(a | b))


def texture(shape: tuple[int, int], seed: int = 0, level: float = 110, spread: float = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 1.5)
    return level + spread * noise / noise.std()


def disk(shape: tuple[int, int], centre: tuple[int, int], radius: int) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    cv2.circle(out, centre, radius, 1, thickness=-1)
    return out.astype(bool)


def disk_on_texture(colour: bool = False):
    truth = disk((160, 200), (90, 80), 24)
    grey = texture(truth.shape)
    grey[truth] += 70
    image = np.clip(grey, 0, 255).astype(np.uint8)
    if colour:
        image = np.dstack([image, np.clip(grey * 0.8, 0, 255).astype(np.uint8), image])
    return image, truth


@pytest.mark.parametrize("colour", [False, True])
def test_a_positive_click_on_an_empty_mask_finds_the_disk(colour):
    image, truth = disk_on_texture(colour)
    out = correct_with_clicks(image, None, np.zeros_like(truth), [Click(90, 80, True)])
    assert out.dtype == bool and out.shape == truth.shape
    assert iou(out, truth) > 0.85


def test_a_positive_click_next_to_a_too_small_mask_grows_it_to_the_edges():
    image, truth = disk_on_texture()
    small = disk(truth.shape, (90, 80), 8)
    out = correct_with_clicks(image, None, small, [Click(90 + 16, 80, True)])
    assert iou(small, truth) < 0.2
    assert iou(out, truth) > 0.85


def test_a_negative_click_inside_a_false_region_removes_all_of_it():
    image, truth = disk_on_texture()
    false_region = disk(truth.shape, (160, 120), 14)  # plain texture, no defect there
    mask = truth | false_region
    out = correct_with_clicks(image, None, mask, [Click(160, 120, False)])
    assert not (out & false_region).any()
    assert np.array_equal(out & truth, truth)  # the true defect, elsewhere, is untouched


def test_a_negative_click_in_a_fat_margin_trims_the_margin_and_keeps_the_defect():
    image, truth = disk_on_texture()
    fat = disk(truth.shape, (90, 80), 34)
    out = correct_with_clicks(image, None, fat, [Click(90 + 29, 80, False)])
    assert out[80, 90]  # the defect's middle stays
    assert iou(out, truth) > iou(fat, truth) + 0.15


def crack_image():
    truth = np.zeros((192, 192), np.uint8)
    points = np.array([[20, 30], [60, 70], [90, 80], [130, 130], [170, 150]], np.int32)
    cv2.polylines(truth, [points], False, 1, thickness=3)
    grey = texture(truth.shape, seed=1, level=150, spread=6)
    grey[truth.astype(bool)] -= 80
    return np.clip(grey, 0, 255).astype(np.uint8), truth.astype(bool)


def test_a_click_on_the_missing_part_of_a_thin_crack_adds_the_crack_and_little_else():
    image, truth = crack_image()
    half = truth.copy()
    half[:, 95:] = False  # the reviewer's mask covers the crack's first half
    out = correct_with_clicks(image, None, half, [Click(130, 130, True)])
    added = out & ~half
    assert np.count_nonzero(added & truth) > 0.6 * np.count_nonzero(truth & ~half)
    assert np.count_nonzero(added & ~truth) < 0.5 * np.count_nonzero(added & truth)
    assert np.array_equal(out & half, half)  # a positive click only adds


def test_a_negative_click_on_a_crack_mask_that_ran_off_the_crack_takes_the_run_off_back():
    image, truth = crack_image()
    spill = truth | disk(truth.shape, (150, 60), 10)  # a blob of plain texture joined to nothing
    out = correct_with_clicks(image, None, spill, [Click(150, 60, False)])
    assert np.array_equal(out, truth)


def ct_slice():
    """A 16-bit CT-like slice (HU + 1024) with a faint blob, and what the reviewer sees through a
    brain window: the blob is only 40 HU brighter, invisible at the full 16-bit range."""
    truth = disk((128, 128), (70, 60), 18)
    rng = np.random.default_rng(2)
    hu = 30 + cv2.GaussianBlur(rng.normal(0, 6, truth.shape).astype(np.float32), (0, 0), 1.0)
    hu[truth] += 40
    hu[:, :10] = -1000  # air beside the head
    raw = np.clip(hu + 1024, 0, 65535).astype(np.uint16)
    return raw, render8(raw, Window(centre=1024 + 40, width=120)), truth


def test_a_click_on_a_windowed_16_bit_ct_blob_finds_it():
    raw, seen, truth = ct_slice()
    assert raw.dtype == np.uint16 and seen.dtype == np.uint8
    out = correct_with_clicks(seen, None, np.zeros_like(truth), [Click(70, 60, True)])
    assert iou(out, truth) > 0.8


def test_a_heatmap_helps_and_is_optional():
    raw, seen, truth = ct_slice()
    heat = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 4)
    with_heat = correct_with_clicks(seen, heat, np.zeros_like(truth), [Click(70, 60, True)])
    assert iou(with_heat, truth) > 0.8


def test_a_heatmap_with_holes_in_it_is_no_evidence_there():
    raw, seen, truth = ct_slice()
    heat = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 4)
    heat[:, 100:] = np.nan  # a map not computed there
    out = correct_with_clicks(seen, heat, np.zeros_like(truth), [Click(np.int64(70), 60.0, True)])
    assert iou(out, truth) > 0.8


@pytest.mark.parametrize("seed", range(4))
def test_every_click_so_far_is_a_hard_constraint(seed):
    image, truth = disk_on_texture()
    rng = np.random.default_rng(seed)
    mask = truth.copy()
    clicks: list[Click] = []
    for _ in range(6):
        y, x = int(rng.integers(0, truth.shape[0])), int(rng.integers(0, truth.shape[1]))
        clicks.append(Click(x, y, bool(rng.integers(0, 2))))  # deliberately against the image too
        mask = correct_with_clicks(image, None, mask, clicks)
        for c in clicks:
            assert mask[c.y, c.x] == c.positive, (c, clicks)


def test_no_clicks_changes_nothing_and_the_input_is_left_alone():
    image, truth = disk_on_texture()
    mask = truth.copy()
    out = correct_with_clicks(image, None, mask, [])
    assert np.array_equal(out, truth) and out is not mask
    correct_with_clicks(image, None, mask, [Click(10, 10, True)])
    assert np.array_equal(mask, truth)


def test_a_click_on_a_very_large_array_changes_only_its_neighbourhood():
    side = 20_000
    image = np.zeros((side, side), np.uint8)  # untouched pages cost no memory
    mask = np.zeros((side, side), bool)
    far_away = (slice(100, 140), slice(100, 140))
    mask[far_away] = True
    y, x = 12_345, 6_789
    image[y - 300 : y + 300, x - 300 : x + 300] = texture((600, 600)).astype(np.uint8)
    defect = disk((600, 600), (300, 300), 40)
    image[y - 300 : y + 300, x - 300 : x + 300][defect] = 230
    click = Click(x, y, True)
    top, left, bottom, right = click_neighbourhood(mask.shape, mask, click, [click])
    assert top <= y < bottom and left <= x < right
    assert bottom - top <= NEIGHBOURHOOD_SIDE and right - left <= NEIGHBOURHOOD_SIDE
    local = Click(x - left, y - top, True)
    new = correct_with_clicks(image[top:bottom, left:right], None, mask[top:bottom, left:right], [local])
    before = np.count_nonzero(mask)
    mask[top:bottom, left:right] = new
    assert np.count_nonzero(mask) - before == np.count_nonzero(new)  # nothing outside the window moved
    assert mask[far_away].all()
    found = mask[y - 300 : y + 300, x - 300 : x + 300]
    assert iou(found, defect) > 0.85


def test_a_small_image_is_all_neighbourhood_and_a_large_one_follows_the_region_clicked():
    small = np.zeros((300, 500), bool)
    assert click_neighbourhood(small.shape, small, Click(499, 299, True)) == (0, 0, 300, 500)
    large = np.zeros((4000, 4000), bool)
    large[1000:1700, 1000:1100] = True  # a long region, taller than the plain window
    top, left, bottom, right = click_neighbourhood(large.shape, large, Click(1050, 1350, False))
    assert top < 1000 and bottom >= 1700 and bottom - top <= NEIGHBOURHOOD_SIDE
    corner = click_neighbourhood(large.shape, large, Click(3999, 0, True))
    assert corner[1] >= 0 and corner[3] == 4000 and corner[0] == 0  # shifted inside, not cut


def test_snap_to_edges_tightens_a_fat_mask_and_loosens_a_thin_one():
    image, truth = disk_on_texture()
    fat = disk(truth.shape, (90, 80), 32)
    thin = disk(truth.shape, (90, 80), 17)
    assert iou(snap_to_edges(image, None, fat, band=12), truth) > 0.9
    assert iou(snap_to_edges(image, None, thin, band=12), truth) > 0.9
    assert not snap_to_edges(image, None, np.zeros_like(truth)).any()


def test_bad_input_gets_a_clear_message():
    image, truth = disk_on_texture()
    mask = np.zeros_like(truth)
    with pytest.raises(ValueError, match="outside the 200 x 160 image"):
        correct_with_clicks(image, None, mask, [Click(200, 5, True)])
    with pytest.raises(ValueError, match="outside"):
        click_neighbourhood(mask.shape, mask, Click(-1, 5, True))
    with pytest.raises(ValueError, match="heatmap of shape"):
        correct_with_clicks(image, np.zeros((5, 5), np.float32), mask, [Click(5, 5, True)])
    with pytest.raises(ValueError, match="mask of shape"):
        snap_to_edges(image, None, mask[:10])
    with pytest.raises(ValueError, match="neither grey"):
        correct_with_clicks(np.zeros((4, 4, 2), np.uint8), None, np.zeros((4, 4), bool), [])


def test_a_one_pixel_image_takes_its_click():
    one = np.zeros((1, 1), np.uint8)
    assert correct_with_clicks(one, None, np.zeros((1, 1), bool), [Click(0, 0, True)]).tolist() == [[True]]
    assert correct_with_clicks(one, None, np.ones((1, 1), bool), [Click(0, 0, False)]).tolist() == [[False]]
    assert snap_to_edges(one, None, np.ones((1, 1), bool)).tolist() == [[True]]


def test_one_negative_click_in_a_uniformly_too_wide_margin_moves_the_whole_outline_in():
    image, truth = disk_on_texture()
    fat = disk(truth.shape, (90, 80), 34)  # 10 px too wide all round; the click is 5 px inside, on one side
    out = correct_with_clicks(image, None, fat, [Click(90 - 29, 80, False)])
    assert iou(fat, truth) < 0.55
    assert iou(out, truth) > 0.85
    assert not out[80, 90 + 30] and out[80, 90 + 20]  # the far side moved in as well


def test_one_positive_click_beside_a_uniformly_too_thin_mask_moves_the_whole_outline_out():
    image, truth = disk_on_texture()
    thin = disk(truth.shape, (90, 80), 14)  # 10 px too thin all round; the click is 5 px outside
    out = correct_with_clicks(image, None, thin, [Click(90, 80 + 19, True)])
    assert iou(out, truth) > 0.85
    assert out[80, 90 - 21] and not out[80, 90 - 30]  # the far side moved out, not past the edge


def test_a_negative_click_in_a_leak_of_a_region_said_to_be_defect_takes_the_leak_and_keeps_the_defect():
    image, truth = disk_on_texture()
    leak = disk(truth.shape, (150, 80), 22)  # plain texture, joined to the defect by a wide neck
    neck = np.zeros(truth.shape, bool)
    neck[70:91, 90:150] = True
    mask = truth | leak | neck
    out = correct_with_clicks(image, None, mask, [Click(90, 80, True), Click(150, 80, False)])
    assert not out[80, 150] and not out[80, 165]  # the leak went
    assert np.count_nonzero(out & truth) > 0.9 * np.count_nonzero(truth)  # the defect stayed


def test_a_second_fine_negative_click_after_a_whole_outline_shrink_trims_the_whole_outline_again():
    image, truth = disk_on_texture()
    plain = np.full_like(image, 110)  # no edges: only the clicks say where the outline goes
    mask = disk(truth.shape, (90, 80), 26)  # what a shrink 2 px short left
    first = Click(90 - 30, 80, False)  # the shrink's click, now outside
    out = correct_with_clicks(plain, None, mask, [first, Click(90 - 25, 80, False)])
    ring = mask & ~disk(truth.shape, (90, 80), 25)
    assert np.count_nonzero(ring & ~out) > 0.8 * np.count_nonzero(ring)  # all round, not only by the click
    assert (out >= disk(truth.shape, (90, 80), 23)).all()  # by a pixel or two, not more


def test_a_fine_click_after_other_corrections_changes_nothing_far_from_it():
    image, truth = disk_on_texture()
    mask = disk(truth.shape, (91, 80), 24)  # a pixel off all round: the edges would pull all of it
    clicks = [
        Click(91, 80 - 27, False),
        Click(91, 80, True),
        Click(91 - 25, 80, True),
    ]  # the last a pixel out
    out = correct_with_clicks(image, None, mask, clicks)
    assert out[80, 91 - 25]
    yy, xx = np.ogrid[: truth.shape[0], : truth.shape[1]]
    far = (yy - 80) ** 2 + (xx - 66) ** 2 > 12**2
    assert (out == mask)[far].all()


def test_a_later_negative_click_in_a_fat_stretch_takes_the_stretch_and_leaves_the_defect_beside_it():
    image, truth = disk_on_texture()
    yy, xx = np.ogrid[: truth.shape[0], : truth.shape[1]]
    lump = disk(truth.shape, (90, 80), 32) & (xx > 90 + 14) & (np.abs(yy - 80) < 8)  # 8 px too fat there
    mask = truth | lump
    clicks = [Click(90, 80, True), Click(90 + 28, 80, False)]  # the second in the middle of the lump
    out = correct_with_clicks(image, None, mask, clicks)
    assert np.count_nonzero(lump & ~truth & out) < 0.3 * np.count_nonzero(lump & ~truth)  # the stretch went
    near = (yy - 80) ** 2 + (xx - 118) ** 2 <= 16**2
    assert np.count_nonzero(truth & near & out) > 0.95 * np.count_nonzero(truth & near)  # the defect stayed
