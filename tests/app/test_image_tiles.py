"""Tile grid, level choice and level building for the large-image viewer, without Qt."""

import numpy as np
import pytest

from zsad_desktop.app.viewer.image_tiles import (
    TileGrid,
    build_levels,
    choose_level,
    halve,
    level_count,
    level_for_scale,
    level_shape,
    patch_levels,
    preview,
)


def test_tile_grid_covers_the_image_with_smaller_last_tiles():
    grid = TileGrid(1100, 600, 512)
    assert (grid.columns, grid.rows) == (3, 2)
    assert grid.tile_rect(1, 2) == (1024, 512, 76, 88)
    covered = np.zeros((600, 1100), int)
    for row in range(grid.rows):
        for column in range(grid.columns):
            x, y, w, h = grid.tile_rect(row, column)
            covered[y : y + h, x : x + w] += 1
    assert (covered == 1).all()  # every pixel in exactly one tile


def test_tiles_in_a_view_rectangle_are_only_those_it_touches():
    grid = TileGrid(12_000, 9_000, 512)
    assert grid.tiles_in(0, 0, 512, 512) == [(0, 0)]  # the right and bottom edges are open
    assert grid.tiles_in(511, 511, 513, 513) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert grid.tiles_in(-300, -300, 100, 100) == [(0, 0)]  # clipped to the grid
    assert grid.tiles_in(11_900, 8_900, 20_000, 20_000) == [(grid.rows - 1, grid.columns - 1)]
    assert len(grid.tiles_in(0, 0, 12_000, 9_000)) == grid.rows * grid.columns == 24 * 18
    with pytest.raises(ValueError, match="positive"):
        TileGrid(0, 10)


def test_levels_halve_rounding_up_until_one_tile():
    assert level_shape(9_000, 12_000, 3) == (1_125, 1_500)
    assert level_shape(9, 7, 1) == (5, 4)
    assert level_count(9_000, 12_000, 512) == 6  # 12,000 / 32 = 375 fits a tile, / 16 = 750 does not
    assert level_count(300, 200, 512) == 1
    assert level_count(20_000, 20_000, 512) == 7


@pytest.mark.parametrize(
    "scale, level", [(4.0, 0), (1.0, 0), (0.75, 0), (0.5, 1), (0.3, 1), (0.25, 2), (0.06, 4), (0.001, 5)]
)
def test_level_for_a_zoom_keeps_level_pixels_at_least_a_screen_pixel(scale, level):
    assert level_for_scale(scale, count=6) == level


def test_level_for_scale_refuses_a_zoom_of_zero():
    with pytest.raises(ValueError, match="positive"):
        level_for_scale(0.0, 3)


def test_choosing_a_level_while_others_are_built():
    needed = {0: 400, 1: 100, 2: 25, 3: 9, 4: 4, 5: 1}.__getitem__
    assert choose_level(3, [0, 1, 2, 3, 5], needed, budget=16) == 3  # ready
    assert (
        choose_level(3, [0, 5], needed, budget=16) == 5
    )  # level 0 would need 400 tiles: the coarse stand-in
    assert choose_level(3, [0, 2, 5], needed, budget=30) == 2  # finer and affordable: sharper
    assert choose_level(1, [0, 5], needed, budget=400) == 0
    assert choose_level(5, [0], needed, budget=1) == 0  # nothing else to draw
    with pytest.raises(ValueError):
        choose_level(0, [], needed, budget=1)


def test_halving_averages_image_blocks_and_keeps_the_maximum_of_heat_and_masks():
    rgb = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    half = halve(rgb, "mean")
    assert half.shape == (3, 4, 3) and half.dtype == np.uint8
    assert abs(int(half[0, 0, 0]) - rgb[:2, :2, 0].mean()) <= 0.5
    assert half[2, 3, 1] == rgb[4, 6, 1]  # the odd corner stands for itself
    assert abs(int(half[1, 3, 2]) - rgb[2:4, 6, 2].mean()) <= 0.5  # the odd column: its vertical pair
    heat = np.zeros((8, 8), np.float32)
    heat[5, 2] = 0.9  # one hot pixel
    assert halve(halve(heat, "max"), "max")[1, 0] == pytest.approx(0.9)  # still there two levels down
    mask = np.zeros((9, 9), bool)
    mask[8, 8] = True
    assert halve(mask, "max").dtype == bool and halve(mask, "max")[4, 4]
    with pytest.raises(ValueError, match="mean"):
        halve(rgb, "median")


def test_built_levels_match_their_shapes_and_stop_when_cancelled():
    image = np.random.default_rng(0).integers(0, 255, (1000, 1300, 3), dtype=np.uint8)
    levels = dict(build_levels(image, level_count(1000, 1300, 128)))
    for index, level in levels.items():
        assert level.shape[:2] == level_shape(1000, 1300, index)
    assert max(levels[max(levels)].shape[:2]) <= 128
    seen = []
    for index, _ in build_levels(image, 5, cancelled=lambda: len(seen) >= 2):
        seen.append(index)
    assert seen == [1, 2]


def test_the_preview_is_every_nth_pixel_in_the_level_shape():
    image = np.random.default_rng(1).integers(0, 255, (1001, 777), dtype=np.uint8)
    quick = preview(image, 3)
    assert quick.shape == level_shape(1001, 777, 3)
    assert quick[5, 7] == image[40, 56]


@pytest.mark.parametrize("box", [(30, 41, 17, 9), (0, 0, 1, 1), (180, 200, 21, 33)])
def test_patching_a_changed_box_matches_rebuilding_every_level(box):
    rng = np.random.default_rng(2)
    mask = rng.random((201, 233)) > 0.97
    levels = [mask] + [level for _, level in build_levels(mask, 5, "max")]
    top, left, height, width = box
    mask[top : top + height, left : left + width] = rng.random((height, width)) > 0.5
    boxes = patch_levels(levels, box, "max")
    rebuilt = [mask] + [level for _, level in build_levels(mask, 5, "max")]
    for patched, fresh in zip(levels, rebuilt):
        np.testing.assert_array_equal(patched, fresh)
    assert boxes[0] == box and boxes[2][0] == top // 4 and len(boxes) == 5
